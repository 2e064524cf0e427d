//! The domain of cmdb: every operation the routes offer, in terms of the model, knowing
//! nothing of HTTP. Reads run in `Db::read`; each write runs in one `Db::write` transaction
//! together with the history it leaves.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::Connection;
use kit::db::{Db, DbConn};
use serde_json::{Map, Value};
use wire::cmdb as w;

use crate::auth::{self, Access, Caller};
use crate::config::AuthConfig;
use crate::error::Error;
use crate::index::{PageValues, Selector, SharedIndex};
use crate::model::{
    self, check_attr_name, scalar_text, Catalog, RetKey, Typed, ValueType, DEFAULT_RELATION_TYPE,
    RELATION_TYPES,
};
use crate::search::{self, CmpOp, Join, Pred, Term};
use crate::store::search::{Cmp, Filter, Order, Param};
use crate::store::{self, AttrFields, AttrRow, CrRow, NewAttrChange, TypeFields, TypeRow};

/// CIs per page of `GET /ci/type/<id>` (the seed's 25) and the default of the search.
pub const CI_PAGE_SIZE: i64 = 25;
pub const HISTORY_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// The most rows one `POST /ci/batch` takes.
pub const MAX_BATCH_ROWS: usize = 1000;
/// The most hops `GET /cirelations/<id>/graph` follows.
pub const MAX_GRAPH_DEPTH: i64 = 5;
/// The most CIs one graph holds: past it the walk stops and says `truncated`.
pub const MAX_GRAPH_CIS: usize = 1000;

pub struct Cmdb {
    db: Db,
    auth: AuthConfig,
    /// The search index of this process (see `index`).
    index: Arc<SharedIndex>,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn catalog(conn: &mut DbConn) -> Result<Catalog, Error> {
    Ok(Catalog {
        attrs: store::all_attributes(conn)?,
        types: store::all_types(conn)?,
    })
}

fn type_not_found(id: i64) -> Error {
    Error::NotFound(format!("citype {id} is not found"))
}

fn attr_not_found(key: &str) -> Error {
    Error::NotFound(format!("attribute `{key}` is not found"))
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Add,
    Update,
}

#[derive(Debug, Clone)]
pub struct CiWrite {
    pub ci_type: String,
    /// `_no_attribute_policy=reject`: refuse attributes the type does not have.
    pub reject_unknown: bool,
    /// Update only: the CI by id rather than by its unique value.
    pub ci_id: Option<i64>,
    /// Every other parameter: attribute (name, id or alias) -> value.
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct SearchInput {
    pub q: String,
    pub types: Option<String>,
    pub ids: Option<String>,
    pub fl: Option<String>,
    pub ret_key: RetKey,
    pub count: i64,
    pub page: i64,
    pub facet: Option<String>,
    pub sort: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HistoryInput {
    pub username: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub page: i64,
    pub page_size: i64,
}

impl Cmdb {
    pub fn new(db: Db, auth: AuthConfig) -> Self {
        Cmdb {
            db,
            auth,
            index: Arc::new(SharedIndex::new()),
        }
    }

    /// Builds (or brings up to date) the search index; start-up calls it so that the first
    /// search does not pay for the build.
    pub async fn sync_index(&self) -> Result<(), Error> {
        let index = self.index.clone();
        self.db
            .read(move |conn| index.sync(conn).map_err(Error::from))
            .await
    }

    // ---- users and signing ----

    /// Creates the configured admin if missing (writing generated credentials to the
    /// credentials file), or gives it the configured key and secret.
    pub async fn ensure_admin(&self) -> Result<(), Error> {
        let auth = self.auth.clone();
        self.db
            .write(move |conn| {
                let existing = store::user_by_name(conn, &auth.admin_user)?;
                let configured = !auth.admin_key.is_empty();
                match existing {
                    Some(user) => {
                        if configured
                            && (user.api_key != auth.admin_key || user.secret != auth.admin_secret.expose_secret())
                        {
                            store::set_user_keys(conn, user.id, &auth.admin_key, auth.admin_secret.expose_secret())?;
                        }
                        Ok(())
                    }
                    None => {
                        let (key, secret) = if configured {
                            (auth.admin_key.clone(), auth.admin_secret.expose_secret().to_string())
                        } else {
                            (random_hex(16), random_hex(20))
                        };
                        store::insert_user(conn, &auth.admin_user, &key, &secret, true, now())?;
                        if !configured {
                            // Inside the transaction: if the file cannot be written, no admin
                            // is created whose secret nobody could read.
                            write_credentials(&auth.credentials_file, &auth.admin_user, &key, &secret)?;
                            tracing::info!(file = %auth.credentials_file, user = %auth.admin_user,
                                "admin user created; its api key and secret are in the credentials file");
                        }
                        Ok(())
                    }
                }
            })
            .await
    }

    /// Checks the request's signature and the caller's right to `access`; removes `_key`,
    /// `_secret` and `_ts` from the parameters.
    pub async fn authenticate(
        &self,
        path: &str,
        is_get: bool,
        access: Access,
        params: &mut Map<String, Value>,
    ) -> Result<Caller, Error> {
        let key = params.get("_key").map(auth::signed_text);
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            if access == Access::Read && is_get && self.auth.open_reads {
                for name in ["_key", "_secret", "_ts"] {
                    params.remove(name);
                }
                return Ok(Caller::anonymous());
            }
            return Err(Error::Unauthenticated(
                "missing parameter `_key`: this request must be signed with an api key \
                 (`_key` and `_secret`, see proto-docs/cmdb.md)"
                    .into(),
            ));
        };
        let Some(given) = params.get("_secret").map(auth::signed_text) else {
            return Err(Error::Unauthenticated(
                "missing parameter `_secret`: the request's signature".into(),
            ));
        };
        let lookup = key.clone();
        let user = self
            .db
            .read(move |conn| store::user_by_key(conn, &lookup).map_err(Error::from))
            .await?
            .ok_or_else(|| {
                Error::Unauthenticated(format!("invalid parameter `_key`: unknown api key `{key}`"))
            })?;
        let signed_as_sent =
            auth::same_signature(&auth::signature(path, &user.secret, params), &given);
        let signed_decoded = || {
            let decoded = auth::decoded_path(path);
            decoded != path
                && auth::same_signature(&auth::signature(&decoded, &user.secret, params), &given)
        };
        if !signed_as_sent && !signed_decoded() {
            return Err(Error::Unauthenticated(
                "invalid parameter `_secret`: the signature does not match (sha1 hex of path + \
                 secret + the other parameters' values ordered by name)"
                    .into(),
            ));
        }
        match params.get("_ts").map(auth::signed_text) {
            Some(ts) => {
                let at: i64 = ts.trim().parse().map_err(|_| {
                    Error::Unauthenticated(format!(
                        "invalid parameter `_ts`: `{ts}` is not unix seconds"
                    ))
                })?;
                let skew = (Utc::now().timestamp() - at).abs();
                if skew > self.auth.ts_window_secs as i64 {
                    return Err(Error::Unauthenticated(format!(
                        "invalid parameter `_ts`: {skew} s away from the server's clock (window {} s)",
                        self.auth.ts_window_secs
                    )));
                }
            }
            None if self.auth.require_ts => {
                return Err(Error::Unauthenticated(
                    "missing parameter `_ts`: signed requests must carry unix seconds in `_ts`"
                        .into(),
                ))
            }
            None => {}
        }
        for name in ["_key", "_secret", "_ts"] {
            params.remove(name);
        }
        if access == Access::Admin && !user.is_admin {
            return Err(Error::Forbidden(format!(
                "user `{}` is not an admin: changing attributes, CI types, type relations and \
                 users needs an admin",
                user.username
            )));
        }
        Ok(Caller {
            user_id: user.id,
            username: user.username,
            is_admin: user.is_admin,
        })
    }

    pub async fn create_user(&self, username: String, is_admin: bool) -> Result<w::User, Error> {
        kit::text::check_line("username", &username)?;
        if username.trim().is_empty() || username.chars().count() > 128 {
            return Err(Error::BadArgument(
                "invalid parameter `username`: 1 to 128 characters".into(),
            ));
        }
        self.db
            .write(move |conn| {
                if store::user_by_name(conn, &username)?.is_some() {
                    return Err(Error::Duplicate(format!(
                        "user `{username}` already exists"
                    )));
                }
                let (key, secret) = (random_hex(16), random_hex(20));
                store::insert_user(conn, &username, &key, &secret, is_admin, now()).map_err(
                    |e| Error::already_exists(e, || format!("user `{username}` already exists")),
                )?;
                let user = store::user_by_name(conn, &username)?
                    .ok_or_else(|| Error::Internal("the new user vanished".into()))?;
                Ok(user.to_wire())
            })
            .await
    }

    pub async fn user(&self, username: String) -> Result<w::User, Error> {
        self.db
            .read(move |conn| {
                store::user_by_name(conn, &username)?
                    .map(|u| u.to_wire())
                    .ok_or_else(|| Error::NotFound(format!("user `{username}` is not found")))
            })
            .await
    }

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
                let reshaped = fields.value_type != current.vt()
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
                // Every CI may have lost values: searches rebuild rather than reload them all.
                store::log_changes(conn, &[store::REBUILD])?;
                Ok(w::Message {
                    message: format!("attribute {} deleted", attr.name),
                })
            })
            .await
    }

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
                Ok(w::Message {
                    message: format!("ci type {} deleted", t.name),
                })
            })
            .await
    }

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
        let kind = relation_type(kind)?;
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
                let id = store::insert_ctr(conn, parent, child, &kind)
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

    // ---- CIs ----

    pub async fn cis_of_type(
        &self,
        type_id: i64,
        fields: Option<String>,
        ret_key: RetKey,
        page: i64,
    ) -> Result<w::CiPage, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(type_id)
                    .ok_or_else(|| type_not_found(type_id))?;
                let wanted = attr_list(&cat, fields.as_deref(), "fields")?;
                let numfound = store::count_cis_of_type(conn, type_id)?;
                let offset = (page - 1).saturating_mul(CI_PAGE_SIZE);
                let ids = store::ci_page_of_type(conn, type_id, offset, CI_PAGE_SIZE)?;
                let cis = render(conn, &cat, &ids, wanted.as_deref(), ret_key)?;
                Ok(w::CiPage {
                    numfound,
                    type_id,
                    page,
                    cis,
                })
            })
            .await
    }

    pub async fn ci(&self, id: i64, ret_key: RetKey) -> Result<w::CiOne, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                let mut cis = render(conn, &cat, &[id], None, ret_key)?;
                let ci = cis
                    .pop()
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                Ok(w::CiOne { ci_id: id, ci })
            })
            .await
    }

    pub async fn write_ci(
        &self,
        caller: Caller,
        mode: WriteMode,
        input: CiWrite,
    ) -> Result<w::CiId, Error> {
        self.db
            .write(move |conn| {
                let ci_id = write_ci(conn, &caller, mode, input)?;
                store::log_changes(conn, &[ci_id])?;
                Ok(w::CiId { ci_id })
            })
            .await
    }

    /// Writes every row in one transaction, each row in a savepoint of its own, so a
    /// refused row leaves no trace and does not undo the others. A row with `_id` / `ci_id`
    /// updates that CI; otherwise it updates the CI holding its unique value, or adds one.
    pub async fn batch_cis(
        &self,
        caller: Caller,
        rows: Vec<CiWrite>,
    ) -> Result<w::BatchResult, Error> {
        if rows.is_empty() || rows.len() > MAX_BATCH_ROWS {
            return Err(Error::BadArgument(format!(
                "invalid parameter `cis`: give between 1 and {MAX_BATCH_ROWS} rows, not {}",
                rows.len()
            )));
        }
        self.db
            .write(move |conn| {
                let mut out = w::BatchResult {
                    added: 0,
                    updated: 0,
                    failed: 0,
                    results: Vec::with_capacity(rows.len()),
                };
                let mut written_ids = Vec::new();
                for (index, row) in rows.into_iter().enumerate() {
                    let written = conn.transaction(|conn| {
                        let mode = if row.ci_id.is_some() || existing_ci(conn, &row)?.is_some() {
                            WriteMode::Update
                        } else {
                            WriteMode::Add
                        };
                        write_ci(conn, &caller, mode, row).map(|id| (mode, id))
                    });
                    let index = index as i64;
                    out.results.push(match written {
                        Ok((mode, ci_id)) => {
                            written_ids.push(ci_id);
                            let action = match mode {
                                WriteMode::Add => {
                                    out.added += 1;
                                    "add"
                                }
                                WriteMode::Update => {
                                    out.updated += 1;
                                    "update"
                                }
                            };
                            w::BatchRow {
                                index,
                                action: action.into(),
                                ci_id: Some(ci_id),
                                status: 200,
                                message: None,
                            }
                        }
                        Err(e) => {
                            out.failed += 1;
                            w::BatchRow {
                                index,
                                action: "error".into(),
                                ci_id: None,
                                status: actix_web::ResponseError::status_code(&e).as_u16(),
                                message: Some(e.to_string()),
                            }
                        }
                    });
                }
                store::log_changes(conn, &written_ids)?;
                Ok(out)
            })
            .await
    }

    pub async fn delete_ci(&self, caller: Caller, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                store::ci_type_of(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                let cat = catalog(conn)?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                let mut relations = store::crs_from(conn, id)?;
                relations.extend(store::crs_to(conn, id)?);
                for r in &relations {
                    store::delete_cr(conn, r.id)?;
                    store::insert_rel_change(conn, record, r, "delete")?;
                }
                for (attr_id, values) in group_values(store::load_values(conn, &[id])?) {
                    if let Some(attr) = cat.attr_by_id(attr_id) {
                        store::insert_attr_change(
                            conn,
                            record,
                            &NewAttrChange {
                                ci_id: id,
                                attr,
                                operate: "delete",
                                old: Some(history_text(attr, &values)),
                                new: None,
                            },
                        )?;
                    }
                }
                store::delete_ci(conn, id)?;
                store::log_changes(conn, &[id])?;
                Ok(w::Message {
                    message: "ok".into(),
                })
            })
            .await
    }

    // ---- search ----

    pub async fn search(&self, input: SearchInput) -> Result<w::SearchResult, Error> {
        let index = self.index.clone();
        self.db
            .read(move |conn| search_cis(conn, &index, &input))
            .await
    }

    // ---- CI relations ----

    pub async fn related_cis(&self, id: i64, second: bool) -> Result<(i64, Vec<w::Ci>), Error> {
        self.db
            .read(move |conn| {
                store::ci_type_of(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                let cat = catalog(conn)?;
                let relations = if second {
                    store::crs_from(conn, id)?
                } else {
                    store::crs_to(conn, id)?
                };
                let ids: Vec<i64> = relations
                    .iter()
                    .map(|r| {
                        if second {
                            r.second_ci_id
                        } else {
                            r.first_ci_id
                        }
                    })
                    .collect();
                let mut cis = render(conn, &cat, &ids, None, RetKey::Name)?;
                for (ci, r) in cis.iter_mut().zip(&relations) {
                    ci.insert("_cr_id".into(), Value::from(r.id));
                    ci.insert(
                        "_relation_type".into(),
                        Value::String(r.relation_type.clone()),
                    );
                    ci.insert(
                        "_more".into(),
                        r.more.map(Value::from).unwrap_or(Value::Null),
                    );
                }
                Ok((cis.len() as i64, cis))
            })
            .await
    }

    /// The CIs within `depth` hops of `root`, following relations either way, and every
    /// relation between two of them. Breadth first, so each CI's `_depth` is its distance.
    pub async fn ci_graph(&self, root: i64, depth: i64) -> Result<w::CiGraph, Error> {
        if !(1..=MAX_GRAPH_DEPTH).contains(&depth) {
            return Err(Error::BadArgument(format!(
                "invalid parameter `depth`: must be between 1 and {MAX_GRAPH_DEPTH}"
            )));
        }
        self.db
            .read(move |conn| {
                store::ci_type_of(conn, root)?
                    .ok_or_else(|| Error::NotFound(format!("ci {root} is not found")))?;
                let mut depth_of: HashMap<i64, i64> = HashMap::from([(root, 0)]);
                let mut order = vec![root];
                let mut frontier = vec![root];
                let mut truncated = false;
                for hop in 1..=depth {
                    let mut next = Vec::new();
                    for r in store::crs_touching(conn, &frontier)? {
                        for other in [r.first_ci_id, r.second_ci_id] {
                            if depth_of.contains_key(&other) {
                                continue;
                            }
                            if order.len() >= MAX_GRAPH_CIS {
                                truncated = true;
                                continue;
                            }
                            depth_of.insert(other, hop);
                            order.push(other);
                            next.push(other);
                        }
                    }
                    frontier = next;
                    if frontier.is_empty() {
                        break;
                    }
                }
                // Relations among the CIs found, those between the farthest ones included.
                let relations: Vec<w::CiRelation> = store::crs_touching(conn, &order)?
                    .into_iter()
                    .filter(|r| {
                        depth_of.contains_key(&r.first_ci_id)
                            && depth_of.contains_key(&r.second_ci_id)
                    })
                    .map(|r| w::CiRelation {
                        cr_id: r.id,
                        first_ci_id: r.first_ci_id,
                        second_ci_id: r.second_ci_id,
                        relation_type: r.relation_type,
                        more: r.more,
                    })
                    .collect();
                let cat = catalog(conn)?;
                let mut cis = render(conn, &cat, &order, None, RetKey::Name)?;
                for ci in &mut cis {
                    let id = ci.get("_id").and_then(Value::as_i64).unwrap_or_default();
                    let hops = depth_of.get(&id).copied().unwrap_or_default();
                    ci.insert("_depth".into(), Value::from(hops));
                }
                Ok(w::CiGraph {
                    root,
                    depth,
                    numfound: cis.len() as i64,
                    truncated,
                    cis,
                    relations,
                })
            })
            .await
    }

    pub async fn add_ci_relation(
        &self,
        caller: Caller,
        first: i64,
        second: i64,
        kind: Option<String>,
        more: Option<i64>,
    ) -> Result<w::CrId, Error> {
        let kind = relation_type(kind)?;
        if first == second {
            return Err(Error::BadArgument(format!(
                "a CI cannot be related to itself (ci {first})"
            )));
        }
        self.db
            .write(move |conn| {
                for id in [first, second] {
                    store::ci_type_of(conn, id)?
                        .ok_or_else(|| Error::NotFound(format!("ci {id} is not found")))?;
                }
                if let Some(m) = more {
                    store::ci_type_of(conn, m)?.ok_or_else(|| {
                        Error::NotFound(format!("invalid parameter `more`: ci {m} is not found"))
                    })?;
                }
                let taken = || format!("ci relation {first} -> {second} already exists");
                if store::cr_between(conn, first, second)?.is_some() {
                    return Err(Error::Duplicate(taken()));
                }
                let id = store::insert_cr(conn, first, second, &kind, more)
                    .map_err(|e| Error::already_exists(e, taken))?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                let row = CrRow {
                    id,
                    first_ci_id: first,
                    second_ci_id: second,
                    relation_type: kind,
                    more,
                };
                store::insert_rel_change(conn, record, &row, "add")?;
                Ok(w::CrId { cr_id: id })
            })
            .await
    }

    pub async fn delete_ci_relation(&self, caller: Caller, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let row = store::cr(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("ci relation {id} is not found")))?;
                store::delete_cr(conn, id)?;
                let record = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                store::insert_rel_change(conn, record, &row, "delete")?;
                Ok(w::Message {
                    message: format!("CI relation {} deleted", row.relation_type),
                })
            })
            .await
    }

    // ---- history ----

    pub async fn history(&self, input: HistoryInput) -> Result<w::HistoryList, Error> {
        let filter = store::RecordFilter {
            username: input.username.clone().filter(|u| !u.is_empty()),
            start: history_time("start", input.start.as_deref(), false)?,
            end: history_time("end", input.end.as_deref(), true)?,
        };
        self.db
            .read(move |conn| {
                let offset = (input.page - 1).saturating_mul(input.page_size);
                let (numfound, rows) = store::list_records(conn, &filter, offset, input.page_size)?;
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                let mut attr_names: HashMap<i64, Vec<String>> = HashMap::new();
                for change in store::attr_changes(conn, &ids)? {
                    let names = attr_names.entry(change.record_id).or_default();
                    if !names.contains(&change.attr_name) {
                        names.push(change.attr_name);
                    }
                }
                let mut rel_counts: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
                for change in store::rel_changes(conn, &ids)? {
                    *rel_counts
                        .entry(change.record_id)
                        .or_default()
                        .entry(change.operate)
                        .or_default() += 1;
                }
                let records = rows
                    .into_iter()
                    .map(|r| w::HistorySummary {
                        record_id: r.id,
                        user: r.user_id,
                        username: r.username,
                        timestamp: model::format_date(&store::from_seconds(r.created_at)),
                        origin: None,
                        reason: None,
                        ticket_id: None,
                        attr_history: attr_names.remove(&r.id).unwrap_or_default(),
                        rel_history: rel_counts.remove(&r.id).unwrap_or_default(),
                    })
                    .collect();
                Ok(w::HistoryList {
                    username: input.username.unwrap_or_default(),
                    start: input.start.unwrap_or_default(),
                    end: input.end.unwrap_or_default(),
                    page: input.page,
                    numfound,
                    records,
                })
            })
            .await
    }

    pub async fn history_record(&self, id: i64) -> Result<w::HistoryDetail, Error> {
        self.db
            .read(move |conn| {
                let record = store::record(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("history record {id} is not found")))?;
                let mut attr_history: BTreeMap<String, Vec<w::AttrChange>> = BTreeMap::new();
                for c in store::attr_changes(conn, &[id])? {
                    attr_history
                        .entry(c.ci_id.to_string())
                        .or_default()
                        .push(w::AttrChange {
                            ci_id: c.ci_id,
                            attr_id: c.attr_id,
                            attr_name: c.attr_name,
                            operate_type: c.operate,
                            old: c.old_value,
                            new: c.new_value,
                        });
                }
                let mut rel_history: BTreeMap<String, Vec<(i64, String, i64)>> = BTreeMap::new();
                rel_history.insert("add".into(), Vec::new());
                rel_history.insert("delete".into(), Vec::new());
                for c in store::rel_changes(conn, &[id])? {
                    rel_history.entry(c.operate).or_default().push((
                        c.first_ci_id,
                        c.relation_type,
                        c.second_ci_id,
                    ));
                }
                Ok(w::HistoryDetail {
                    record_id: record.id,
                    user: record.user_id,
                    username: record.username,
                    timestamp: model::format_date(&store::from_seconds(record.created_at)),
                    attr_history,
                    rel_history,
                })
            })
            .await
    }
}

// ---- helpers of the operations above ----

fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

fn write_credentials(path: &str, user: &str, key: &str, secret: &str) -> Result<(), Error> {
    use std::io::Write;
    let failed = |e: std::io::Error| {
        Error::Internal(format!("cannot write admin credentials to {path}: {e}"))
    };
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Only the operator running the service may read the secret.
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(failed)?;
    let body = serde_json::json!({"username": user, "api_key": key, "secret": secret});
    writeln!(file, "{body}").map_err(failed)
}

fn relation_type(kind: Option<String>) -> Result<String, Error> {
    let kind = kind
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| DEFAULT_RELATION_TYPE.to_string());
    if RELATION_TYPES.contains(&kind.as_str()) {
        Ok(kind)
    } else {
        Err(Error::BadArgument(format!(
            "invalid parameter `relation_type`: `{kind}` is not one of {}",
            RELATION_TYPES.join(", ")
        )))
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
        (None, Some(c)) => c.vt(),
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
fn type_to_wire(cat: &Catalog, t: &TypeRow, list_style: bool) -> w::CiType {
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

/// Resolves a comma-separated list of attributes (`fields`, `fl`); none means "all".
fn attr_list(cat: &Catalog, text: Option<&str>, param: &str) -> Result<Option<Vec<i64>>, Error> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    text.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            cat.attr(k).map(|a| a.id).ok_or_else(|| {
                Error::BadArgument(format!(
                    "invalid parameter `{param}`: unknown attribute `{k}`"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn group_values(rows: Vec<store::ValueRow>) -> BTreeMap<i64, Vec<Typed>> {
    let mut out: BTreeMap<i64, Vec<Typed>> = BTreeMap::new();
    for (_, attr, value) in rows {
        out.entry(attr).or_default().push(value);
    }
    out
}

fn history_text(attr: &AttrRow, values: &[Typed]) -> String {
    if attr.is_multivalue {
        Value::Array(values.iter().map(Typed::to_json).collect()).to_string()
    } else {
        values.first().map(Typed::canonical).unwrap_or_default()
    }
}

/// The seed's CI objects, in the order of `ids` (ids that do not exist are left out).
fn render(
    conn: &mut DbConn,
    cat: &Catalog,
    ids: &[i64],
    fields: Option<&[i64]>,
    ret: RetKey,
) -> Result<Vec<w::Ci>, Error> {
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    let types = store::ci_types_of(conn, &set)?;
    let mut values: HashMap<(i64, i64), Vec<Typed>> = HashMap::new();
    for (ci, attr, value) in store::load_values(conn, ids)? {
        values.entry((ci, attr)).or_default().push(value);
    }
    render_loaded(conn, cat, ids, &types, &values, fields, ret)
}

/// [`render`] of CIs whose types (by CI id) and values (by CI and attribute id, in
/// insertion order) are at hand.
fn render_loaded(
    conn: &mut DbConn,
    cat: &Catalog,
    ids: &[i64],
    types: &HashMap<i64, i64>,
    values: &HashMap<(i64, i64), Vec<Typed>>,
    fields: Option<&[i64]>,
    ret: RetKey,
) -> Result<Vec<w::Ci>, Error> {
    let bindings = if fields.is_none() {
        store::all_bindings(conn)?
    } else {
        HashMap::new()
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(t) = types.get(id).and_then(|t| cat.type_by_id(*t)) else {
            continue;
        };
        let mut ci = Map::new();
        ci.insert("_id".into(), Value::from(*id));
        ci.insert("_type".into(), Value::from(t.id));
        ci.insert("ci_type".into(), Value::String(t.name.clone()));
        ci.insert("ci_type_alias".into(), Value::String(t.alias.clone()));
        let unique = values
            .get(&(*id, t.unique_attr_id))
            .and_then(|v| v.first())
            .map(Typed::to_json)
            .unwrap_or(Value::Null);
        ci.insert("_unique".into(), unique);
        let attr_ids: &[i64] = match fields {
            Some(f) => f,
            None => bindings.get(&t.id).map(Vec::as_slice).unwrap_or(&[]),
        };
        for attr_id in attr_ids {
            let Some(attr) = cat.attr_by_id(*attr_id) else {
                continue;
            };
            let held = values.get(&(*id, *attr_id));
            let value = if attr.is_multivalue {
                Value::Array(
                    held.map(|v| v.iter().map(Typed::to_json).collect())
                        .unwrap_or_default(),
                )
            } else {
                held.and_then(|v| v.first())
                    .map(Typed::to_json)
                    .unwrap_or(Value::Null)
            };
            ci.insert(ret.key(attr), value);
        }
        out.push(ci);
    }
    Ok(out)
}

/// The values a parameter gives an attribute: a JSON list, or for a multi-valued attribute
/// text split on commas. Empty means "no value".
fn raw_values(attr: &AttrRow, key: &str, value: &Value) -> Result<Vec<String>, Error> {
    let scalar = |v: &Value| {
        scalar_text(v).ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid value for attribute `{key}`: expected a value or a list of values"
            ))
        })
    };
    match value {
        Value::Array(items) if attr.is_multivalue => items
            .iter()
            .map(scalar)
            .filter(|r| !matches!(r, Ok(s) if s.trim().is_empty()))
            .collect(),
        Value::Array(_) => Err(Error::BadArgument(format!(
            "invalid value for attribute `{key}`: it takes one value, not a list"
        ))),
        other => {
            let text = scalar(other)?;
            if text.trim().is_empty() {
                Ok(Vec::new())
            } else if attr.is_multivalue {
                Ok(text
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect())
            } else {
                Ok(vec![text])
            }
        }
    }
}

fn write_ci(
    conn: &mut DbConn,
    caller: &Caller,
    mode: WriteMode,
    input: CiWrite,
) -> Result<i64, Error> {
    let cat = catalog(conn)?;
    let ty = cat
        .ci_type(&input.ci_type)
        .ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `ci_type`: citype `{}` is not found",
                input.ci_type
            ))
        })?
        .clone();
    if !ty.enabled {
        return Err(Error::BadArgument(format!(
            "invalid parameter `ci_type`: citype `{}` is disabled",
            ty.name
        )));
    }
    let bound = store::type_bindings(conn, ty.id)?;
    let mut changes: Vec<(AttrRow, Option<Vec<Typed>>)> = Vec::new();
    let mut seen = HashSet::new();
    for (key, value) in &input.fields {
        let attr = match cat.attr(key) {
            Some(a) if bound.iter().any(|(id, _)| *id == a.id) => a.clone(),
            _ if input.reject_unknown => {
                return Err(Error::BadArgument(format!(
                    "unknown attribute `{key}`: citype `{}` has no such attribute (_no_attribute_policy=reject)",
                    ty.name
                )))
            }
            _ => continue,
        };
        if !seen.insert(attr.id) {
            return Err(Error::BadArgument(format!(
                "attribute `{}` is given twice (once as `{key}`)",
                attr.name
            )));
        }
        let raws = raw_values(&attr, key, value)?;
        if raws.is_empty() {
            changes.push((attr, None));
            continue;
        }
        let choices = attr.choices();
        let mut typed: Vec<Typed> = Vec::with_capacity(raws.len());
        for raw in &raws {
            // A text value may span lines (a description, a script); nothing else invisible.
            kit::text::check_multiline(key, raw)?;
            let v = Typed::parse(attr.vt(), raw).map_err(|reason| {
                Error::BadArgument(format!("invalid value for attribute `{key}`: {reason}"))
            })?;
            if attr.is_choice && !choices.contains(&v.to_json()) {
                return Err(Error::BadArgument(format!(
                    "invalid value for attribute `{key}`: `{raw}` is not one of {}",
                    Value::Array(choices.clone())
                )));
            }
            if !typed.contains(&v) {
                typed.push(v);
            }
        }
        changes.push((attr, Some(typed)));
    }
    let unique_attr = cat
        .attr_by_id(ty.unique_attr_id)
        .ok_or_else(|| Error::Internal(format!("citype `{}` lost its unique attribute", ty.name)))?
        .clone();
    let unique_value = changes
        .iter()
        .find(|(a, _)| a.id == unique_attr.id)
        .map(|(_, v)| v.clone());
    let missing_unique = || {
        Error::BadArgument(format!(
            "missing parameter `{}`: the unique attribute of citype `{}`",
            unique_attr.name, ty.name
        ))
    };
    let ci_id = match mode {
        WriteMode::Add => {
            match &unique_value {
                Some(Some(_)) => {}
                _ => return Err(missing_unique()),
            }
            for (attr_id, required) in &bound {
                let given = changes.iter().any(|(a, v)| a.id == *attr_id && v.is_some());
                if *required && !given {
                    let name = cat
                        .attr_by_id(*attr_id)
                        .map(|a| a.name.clone())
                        .unwrap_or_default();
                    return Err(Error::BadArgument(format!(
                        "missing parameter `{name}`: required by citype `{}`",
                        ty.name
                    )));
                }
            }
            store::insert_ci(conn, ty.id)?
        }
        WriteMode::Update => {
            if matches!(unique_value, Some(None)) {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{}`: the unique attribute cannot be cleared",
                    unique_attr.name
                )));
            }
            for (attr, v) in &changes {
                let required = bound.iter().any(|(id, r)| *id == attr.id && *r);
                if required && v.is_none() {
                    return Err(Error::BadArgument(format!(
                        "invalid parameter `{}`: required by citype `{}`, it cannot be cleared",
                        attr.name, ty.name
                    )));
                }
            }
            let id = match (input.ci_id, &unique_value) {
                (Some(id), _) => id,
                (None, Some(Some(values))) => {
                    let canonical = values.first().map(Typed::canonical).unwrap_or_default();
                    store::unique_owner(conn, unique_attr.id, &canonical)?.ok_or_else(|| {
                        Error::NotFound(format!(
                            "no ci of citype `{}` has {}=`{canonical}`",
                            ty.name, unique_attr.name
                        ))
                    })?
                }
                (None, _) => return Err(missing_unique()),
            };
            match store::ci_type_of(conn, id)? {
                Some(t) if t == ty.id => id,
                _ => {
                    return Err(Error::NotFound(format!(
                        "ci {id} of citype `{}` is not found",
                        ty.name
                    )))
                }
            }
        }
    };
    let current = group_values(store::load_values(conn, &[ci_id])?);
    let mut record: Option<i64> = None;
    for (attr, new) in changes {
        let old = current.get(&attr.id);
        let operate = match (old, &new) {
            (None, None) => continue,
            (Some(o), Some(n)) if o == n => continue,
            (None, Some(_)) => "add",
            (Some(_), Some(_)) => "update",
            (Some(_), None) => "delete",
        };
        // Only when there is something to delete: on MariaDB a DELETE that finds no row
        // still gap-locks the end of the `ci_id` index, and two processes adding CIs at once
        // then deadlocked on their inserts into `ci_unique_values`.
        if old.is_some() {
            store::delete_values(conn, ci_id, &attr)?;
        }
        if let Some(values) = &new {
            for v in values {
                if attr.is_uniq {
                    let canonical = v.canonical();
                    let taken = |holder: &str| {
                        format!(
                            "attribute `{}` is unique and `{canonical}` already exists ({holder})",
                            attr.name
                        )
                    };
                    if let Some(owner) = store::unique_owner(conn, attr.id, &canonical)? {
                        return Err(Error::Duplicate(taken(&format!("ci {owner} has it"))));
                    }
                    store::claim_unique(conn, attr.id, &canonical, ci_id).map_err(|e| {
                        Error::already_exists(e, || taken("another CI was just given it"))
                    })?;
                }
                store::insert_value(conn, ci_id, attr.id, v)?;
            }
        }
        let record_id = match record {
            Some(r) => r,
            None => {
                let r = store::insert_record(conn, caller.user_id, &caller.username, now())?;
                record = Some(r);
                r
            }
        };
        store::insert_attr_change(
            conn,
            record_id,
            &NewAttrChange {
                ci_id,
                attr: &attr,
                operate,
                old: old.map(|o| history_text(&attr, o)),
                new: new.as_ref().map(|n| history_text(&attr, n)),
            },
        )?;
    }
    Ok(ci_id)
}

/// The CI already holding the row's unique value, if the row names its type and gives
/// that value. Anything unreadable is left for `write_ci` to refuse with its own message.
fn existing_ci(conn: &mut DbConn, row: &CiWrite) -> Result<Option<i64>, Error> {
    let cat = catalog(conn)?;
    let Some(ty) = cat.ci_type(&row.ci_type) else {
        return Ok(None);
    };
    let Some(unique) = cat.attr_by_id(ty.unique_attr_id) else {
        return Ok(None);
    };
    let given = row.fields.iter().find_map(|(key, value)| {
        cat.attr(key)
            .filter(|a| a.id == unique.id)
            .map(|_| (key, value))
    });
    let Some((key, value)) = given else {
        return Ok(None);
    };
    let Ok(raws) = raw_values(unique, key, value) else {
        return Ok(None);
    };
    let Some(typed) = raws
        .first()
        .and_then(|raw| Typed::parse(unique.vt(), raw).ok())
    else {
        return Ok(None);
    };
    Ok(store::unique_owner(conn, unique.id, &typed.canonical())?)
}

fn history_time(
    param: &str,
    text: Option<&str>,
    end: bool,
) -> Result<Option<NaiveDateTime>, Error> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let at = model::parse_datetime(text).ok_or_else(|| {
        Error::BadArgument(format!(
            "invalid parameter `{param}`: `{text}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)"
        ))
    })?;
    // A bare date as `end` means the end of that day.
    if end && model::is_date_only(text) {
        return Ok(Some(at + Duration::seconds(86_399)));
    }
    Ok(Some(at))
}

// ---- search ----

fn q_error(term: &Term, reason: String) -> Error {
    Error::BadArgument(format!(
        "invalid parameter `q`: bad term `{}`: {reason}",
        term.text
    ))
}

/// Type ids from `a`, `(a;b)` or `a;b`, by id, name or alias.
fn resolve_types(cat: &Catalog, items: &[String], param: &str) -> Result<Vec<i64>, Error> {
    items
        .iter()
        .map(|k| {
            cat.ci_type(k).map(|t| t.id).ok_or_else(|| {
                Error::BadArgument(format!("invalid parameter `{param}`: unknown citype `{k}`"))
            })
        })
        .collect()
}

fn list_items(text: &str) -> Vec<String> {
    let inner = text.trim();
    let inner = inner
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(inner);
    inner
        .split([';', ','])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_ids(items: &[String], param: &str) -> Result<BTreeSet<i64>, Error> {
    items
        .iter()
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                Error::BadArgument(format!("invalid parameter `{param}`: `{s}` is not a CI id"))
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

fn cmp_of(op: Op) -> Cmp {
    match op {
        Op::Eq => Cmp::Eq,
        Op::Ge => Cmp::Ge,
        Op::Gt => Cmp::Gt,
        Op::Le => Cmp::Le,
        Op::Lt => Cmp::Lt,
    }
}

/// The SQL bounds on a value of `attr` (or of any text attribute, when `attr` is none) that
/// all together say `bounds`. `*` alone as a bound means "any"; in text, `*` is a wildcard.
fn sql_bounds(
    attr: Option<&AttrRow>,
    bounds: &[(Op, &str)],
    term: &Term,
) -> Result<Vec<(Cmp, Param)>, Error> {
    let bounds: Vec<(Op, &str)> = bounds.iter().copied().filter(|(_, v)| *v != "*").collect();
    let vt = attr.map(AttrRow::vt).unwrap_or(ValueType::Text);
    let name = attr.map(|a| a.name.as_str()).unwrap_or("");
    let bad_value = |reason: String| {
        q_error(
            term,
            format!("attribute `{name}` is {}: {reason}", vt.as_str()),
        )
    };
    let mut out = Vec::new();
    for (op, v) in &bounds {
        match vt {
            ValueType::Int => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| bad_value(format!("`{v}` is not an integer")))?;
                out.push((cmp_of(*op), Param::Int(n)));
            }
            ValueType::Float => {
                let n: f64 = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite())
                    .ok_or_else(|| bad_value(format!("`{v}` is not a number")))?;
                out.push((cmp_of(*op), Param::Float(n)));
            }
            ValueType::Date => {
                let at = model::parse_datetime(v).ok_or_else(|| {
                    bad_value(format!(
                        "`{v}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)"
                    ))
                })?;
                let first = store::to_seconds(&at);
                if model::is_date_only(v) {
                    // A bare date stands for its whole day.
                    let last = store::to_seconds(&(at + Duration::seconds(86_399)));
                    match op {
                        Op::Eq => {
                            out.push((Cmp::Ge, Param::Int(first)));
                            out.push((Cmp::Le, Param::Int(last)));
                        }
                        Op::Ge | Op::Lt => out.push((cmp_of(*op), Param::Int(first))),
                        Op::Gt | Op::Le => out.push((cmp_of(*op), Param::Int(last))),
                    }
                } else {
                    out.push((cmp_of(*op), Param::Int(first)));
                }
            }
            ValueType::Text => {
                let wild = v.contains('*');
                let text = |s: String| Param::Text(s);
                match op {
                    Op::Eq if wild => {
                        let prefix = search::literal_prefix(v);
                        if !prefix.is_empty() {
                            // An index range on the literal prefix; the pattern narrows after.
                            out.push((Cmp::Ge, text(prefix.to_string())));
                            out.push((Cmp::Lt, text(search::prefix_upper_bound(prefix))));
                        }
                        out.push((Cmp::Glob, text(v.to_string())));
                    }
                    // In a bound, `cmdb*` from below is `cmdb`, from above every `cmdb...`.
                    Op::Ge | Op::Gt if wild => {
                        out.push((cmp_of(*op), text(search::literal_prefix(v).to_string())))
                    }
                    Op::Le | Op::Lt if wild => out.push((
                        cmp_of(*op),
                        text(search::prefix_upper_bound(search::literal_prefix(v))),
                    )),
                    _ => out.push((cmp_of(*op), text(v.to_string()))),
                }
            }
        }
    }
    Ok(out)
}

/// What one term selects, checked against the catalog.
fn term_selector(cat: &Catalog, term: &Term) -> Result<Selector, Error> {
    let items = |pred: &Pred| -> Result<Vec<String>, Error> {
        match pred {
            Pred::Eq(v) => Ok(vec![v.clone()]),
            Pred::In(list) => Ok(list.clone()),
            _ => Err(q_error(
                term,
                "`_type` and `_id` take a value or an IN list `(a;b)`".into(),
            )),
        }
    };
    let attr = match term.field.as_deref() {
        Some("_type") => {
            return Ok(Selector::Types(resolve_types(
                cat,
                &items(&term.pred)?,
                "q",
            )?));
        }
        Some("_id") => {
            let wanted: Vec<i64> = parse_ids(&items(&term.pred)?, "q")?.into_iter().collect();
            return Ok(Selector::Ids(wanted));
        }
        Some(key) => Some(
            cat.attr(key)
                .ok_or_else(|| q_error(term, format!("unknown attribute `{key}`")))?,
        ),
        None => None,
    };
    let alternatives: Vec<Vec<(Cmp, Param)>> = match &term.pred {
        Pred::Eq(v) => vec![sql_bounds(attr, &[(Op::Eq, v)], term)?],
        Pred::In(list) => list
            .iter()
            .map(|v| sql_bounds(attr, &[(Op::Eq, v)], term))
            .collect::<Result<_, _>>()?,
        Pred::Range(low, high) => vec![sql_bounds(attr, &[(Op::Ge, low), (Op::Le, high)], term)?],
        Pred::Cmp(op, v) => {
            let op = match op {
                CmpOp::Gt => Op::Gt,
                CmpOp::Ge => Op::Ge,
                CmpOp::Lt => Op::Lt,
                CmpOp::Le => Op::Le,
            };
            vec![sql_bounds(attr, &[(op, v)], term)?]
        }
    };
    Ok(Selector::Values {
        vt: attr.map(AttrRow::vt).unwrap_or(ValueType::Text),
        attr: attr.map(|a| a.id),
        alternatives,
    })
}

/// A selector as SQL over `cis c`.
fn selector_filter(conn: &DbConn, selector: &Selector) -> Filter {
    match selector {
        Selector::Types(types) => Filter::types_in(types),
        Selector::Ids(ids) => Filter::ids_in(ids),
        Selector::Values {
            vt,
            attr,
            alternatives,
        } => store::search::value_filter(conn, *vt, *attr, alternatives),
    }
}

/// A search, read and checked against the catalog.
struct Plan<'c> {
    terms: Vec<(Join, Selector)>,
    types: Option<Vec<i64>>,
    ids: Option<Vec<i64>>,
    fl: Option<Vec<i64>>,
    facets: Vec<&'c AttrRow>,
    order: Order,
}

fn plan<'c>(cat: &'c Catalog, input: &SearchInput) -> Result<Plan<'c>, Error> {
    let parsed = search::parse(&input.q).map_err(|e| Error::BadArgument(e.to_string()))?;
    let types = match input.types.as_deref().map(list_items) {
        Some(items) if !items.is_empty() => Some(resolve_types(cat, &items, "_type")?),
        _ => None,
    };
    let ids = match input.ids.as_deref().map(list_items) {
        Some(items) if !items.is_empty() => Some(parse_ids(&items, "_id")?.into_iter().collect()),
        _ => None,
    };
    let fl = attr_list(cat, input.fl.as_deref(), "fl")?;
    let facets: Vec<&AttrRow> = match input.facet.as_deref() {
        Some(text) => text
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| {
                cat.attr(k).ok_or_else(|| {
                    Error::BadArgument(format!(
                        "invalid parameter `facet`: unknown attribute `{k}`"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let order = match input
        .sort
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => {
            let (descending, key) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text.strip_prefix('+').unwrap_or(text)),
            };
            let attr = cat.attr(key.trim()).ok_or_else(|| {
                Error::BadArgument(format!(
                    "invalid parameter `sort`: unknown attribute `{key}`"
                ))
            })?;
            Order::Attr {
                vt: attr.vt(),
                attr_id: attr.id,
                descending,
            }
        }
        None => Order::Id,
    };
    let terms = parsed
        .iter()
        .map(|term| Ok((term.join, term_selector(cat, term)?)))
        .collect::<Result<_, Error>>()?;
    Ok(Plan {
        terms,
        types,
        ids,
        fl,
        facets,
        order,
    })
}

/// What a search found.
struct Found {
    numfound: i64,
    by_type: Vec<(i64, i64)>,
    facets: Vec<Vec<(Typed, i64)>>,
    page: Vec<i64>,
    /// The page's types and values when the index gave them (else they are read).
    loaded: Option<PageValues>,
}

/// The search on the in-memory index; `None` when it is not usable (then SQL answers).
fn find_in_index(index: &SharedIndex, plan: &Plan<'_>, offset: i64, count: i64) -> Option<Found> {
    index.with(|idx| {
        let matched = idx.matches(&plan.terms, plan.types.as_deref(), plan.ids.as_deref());
        let numfound = i64::try_from(matched.len()).unwrap_or(i64::MAX);
        let facets = plan
            .facets
            .iter()
            .map(|attr| idx.facet(&matched, attr.vt(), attr.id))
            .collect();
        let page = if offset >= numfound {
            Vec::new()
        } else {
            idx.page(&matched, plan.order, offset, count)
        };
        let loaded = Some(idx.cis(&page));
        Found {
            numfound,
            by_type: idx.count_by_type(&matched),
            facets,
            page,
            loaded,
        }
    })
}

/// The search in SQL: each term an `IN (SELECT ...)` (see `store::search`).
fn find_in_sql(
    conn: &mut DbConn,
    plan: &Plan<'_>,
    offset: i64,
    count: i64,
) -> Result<Found, Error> {
    // Terms combine left to right: plain ANDs, `-` ORs, `~` subtracts; a leading `~`
    // subtracts from every CI (of the `_type`s, which are ANDed below).
    let mut matched: Option<Filter> = None;
    for (join, selector) in &plan.terms {
        let next = selector_filter(conn, selector);
        matched = Some(match (matched, join) {
            (None, Join::Not) => next.not(),
            (None, _) => next,
            (Some(acc), Join::And) => acc.and(next),
            (Some(acc), Join::Or) => acc.or(next),
            (Some(acc), Join::Not) => acc.and_not(next),
        });
    }
    let mut filter = matched.unwrap_or_else(Filter::all);
    if let Some(types) = &plan.types {
        filter = Filter::types_in(types).and(filter);
    }
    if let Some(ids) = &plan.ids {
        filter = Filter::ids_in(ids).and(filter);
    }
    let by_type = store::search::count_by_type(conn, &filter)?;
    let numfound = by_type.iter().map(|(_, n)| n).sum();
    let mut facets = Vec::with_capacity(plan.facets.len());
    for attr in &plan.facets {
        facets.push(if numfound == 0 {
            Vec::new()
        } else {
            store::search::facet(conn, &filter, attr.vt(), attr.id)?
        });
    }
    let page = if offset >= numfound {
        Vec::new()
    } else {
        store::search::page(conn, &filter, plan.order, offset, count)?
    };
    Ok(Found {
        numfound,
        by_type,
        facets,
        page,
        loaded: None,
    })
}

fn search_cis(
    conn: &mut DbConn,
    index: &SharedIndex,
    input: &SearchInput,
) -> Result<w::SearchResult, Error> {
    let cat = catalog(conn)?;
    let plan = plan(&cat, input)?;
    let offset = (input.page - 1).saturating_mul(input.count);
    index.sync(conn)?;
    let found = match find_in_index(index, &plan, offset, input.count) {
        Some(found) => found,
        None => find_in_sql(conn, &plan, offset, input.count)?,
    };
    search_result(conn, &cat, &plan, input, found)
}

fn search_result(
    conn: &mut DbConn,
    cat: &Catalog,
    plan: &Plan<'_>,
    input: &SearchInput,
    found: Found,
) -> Result<w::SearchResult, Error> {
    let mut counter: BTreeMap<String, i64> = BTreeMap::new();
    for (type_id, n) in found.by_type {
        if let Some(t) = cat.type_by_id(type_id) {
            *counter.entry(t.name.clone()).or_default() += n;
        }
    }
    let mut facet = BTreeMap::new();
    for (attr, rows) in plan.facets.iter().zip(found.facets) {
        let mut entries: Vec<(String, Value, i64)> = rows
            .into_iter()
            .map(|(value, n)| (value.canonical(), value.to_json(), n))
            .collect();
        entries.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        let key = input.ret_key.key(attr);
        facet.insert(
            key.clone(),
            entries
                .into_iter()
                .map(|(_, v, n)| (v, n, key.clone()))
                .collect(),
        );
    }
    let fl = plan.fl.as_deref();
    let result = match &found.loaded {
        Some((types, values)) => {
            render_loaded(conn, cat, &found.page, types, values, fl, input.ret_key)?
        }
        None => render(conn, cat, &found.page, fl, input.ret_key)?,
    };
    Ok(w::SearchResult {
        numfound: found.numfound,
        total: result.len() as i64,
        page: input.page,
        counter,
        facet,
        result,
    })
}

#[cfg(test)]
mod tests {
    //! The index and the SQL search answer alike: the same searches run both ways on one
    //! database and must agree on every count, facet and page.

    use super::*;
    use kit::testing::{TestBackend, TestDatabase};

    kit::on_both_backends!(
        index_and_sql_agree,
        writers_outside_the_api_are_seen_once_logged,
        an_index_behind_the_trimmed_change_log_rebuilds,
        a_unique_key_refusal_is_a_conflict_not_a_server_error
    );

    /// The race the service's own existence check cannot see ends at the database's unique
    /// key: the backend's real refusal (SQLite's and MariaDB's own errors) is a 400 naming
    /// what exists, through `Error::already_exists` and through the fallback alike.
    async fn a_unique_key_refusal_is_a_conflict_not_a_server_error(backend: TestBackend) {
        use actix_web::ResponseError;
        let test_db = TestDatabase::create(backend, "cmdb_unit");
        let db = Db::open_async(&test_db.config, crate::migrations())
            .await
            .expect("database opens");
        fn insert(conn: &mut DbConn, key: &str) -> diesel::QueryResult<i64> {
            store::insert_user(conn, "carol", key, "s", false, now())
        }
        db.write(|conn| insert(conn, "k1").map_err(Error::from))
            .await
            .expect("the first carol");
        let named = db
            .write(|conn| {
                insert(conn, "k2")
                    .map_err(|e| Error::already_exists(e, || "user `carol` already exists".into()))
            })
            .await
            .expect_err("the unique key refuses a second carol");
        assert!(
            matches!(&named, Error::Duplicate(m) if m == "user `carol` already exists"),
            "{named:?}"
        );
        assert_eq!(named.status_code().as_u16(), 400);
        let fallback = db
            .write(|conn| insert(conn, "k3").map_err(Error::from))
            .await
            .expect_err("refused again");
        assert!(matches!(fallback, Error::Duplicate(_)), "{fallback:?}");
        assert_eq!(fallback.status_code().as_u16(), 400);
        // Any other database failure stays a server error.
        let broken = db
            .write(|conn| {
                diesel::RunQueryDsl::execute(diesel::sql_query("SELECT * FROM no_such_table"), conn)
                    .map_err(|e| Error::already_exists(e, || "never".into()))
            })
            .await
            .expect_err("no such table");
        assert_eq!(broken.status_code().as_u16(), 500, "{broken:?}");
    }

    fn input(q: &str, facet: Option<&str>, sort: Option<&str>, page: i64) -> SearchInput {
        SearchInput {
            q: q.into(),
            types: None,
            ids: None,
            fl: None,
            ret_key: RetKey::Name,
            count: 7,
            page,
            facet: facet.map(str::to_string),
            sort: sort.map(str::to_string),
        }
    }

    async fn index_and_sql_agree(backend: TestBackend) {
        let test_db = TestDatabase::create(backend, "cmdb_unit");
        let db = Db::open_async(&test_db.config, crate::migrations())
            .await
            .expect("database opens");
        let cmdb = Cmdb::new(db.clone(), crate::Config::default().auth);
        let caller = Caller {
            user_id: 1,
            username: "test".into(),
            is_admin: true,
        };
        let mut attr_ids = Vec::new();
        for (name, vt, multi) in [
            ("hostname", "text", false),
            ("idc", "text", false),
            ("cpu", "int", false),
            ("ram", "float", false),
            ("online", "date", false),
            ("nic", "text", true),
        ] {
            let made = cmdb
                .add_attribute(AttrInput {
                    name: Some(name.into()),
                    value_type: Some(vt.into()),
                    is_multivalue: Some(multi),
                    is_uniq: Some(name == "hostname"),
                    ..AttrInput::default()
                })
                .await
                .expect("attribute added");
            attr_ids.push(made.attr_id);
        }
        for type_name in ["server", "switch"] {
            let made = cmdb
                .add_type(TypeInput {
                    name: Some(type_name.into()),
                    unique: Some("hostname".into()),
                    ..TypeInput::default()
                })
                .await
                .expect("type added");
            cmdb.bind_attributes(made.type_id, attr_ids.clone(), false)
                .await
                .expect("attributes bound");
        }
        for i in 0..60_i64 {
            let mut fields = Map::new();
            fields.insert("hostname".into(), Value::from(format!("web-{i}")));
            fields.insert("idc".into(), Value::from(["A", "B", "C"][(i % 3) as usize]));
            if i % 4 != 0 {
                fields.insert(
                    "cpu".into(),
                    Value::from([4, 8, 16, 32][(i % 5 % 4) as usize]),
                );
            }
            fields.insert("ram".into(), Value::from(0.5 * (i % 7) as f64));
            fields.insert(
                "online".into(),
                Value::from(format!("2024-01-{:02} 1{}:00:00", 1 + i % 20, i % 10)),
            );
            // Some CIs hold the same NIC twice: facets count values, not CIs.
            fields.insert(
                "nic".into(),
                Value::from(vec![format!("eth{}", i % 2), format!("eth{}", i % 3)]),
            );
            cmdb.write_ci(
                caller.clone(),
                WriteMode::Add,
                CiWrite {
                    ci_type: if i % 5 == 0 { "switch" } else { "server" }.into(),
                    reject_unknown: false,
                    ci_id: None,
                    fields,
                },
            )
            .await
            .expect("CI added");
        }
        let first = cmdb
            .search(input("hostname:web-7", None, None, 1))
            .await
            .expect("search");
        let seventh = first.result[0]["_id"].as_i64().expect("an id");
        cmdb.delete_ci(caller.clone(), seventh)
            .await
            .expect("CI deleted");

        let queries = [
            "",
            "hostname:web-1*",
            "web-2*",
            "*eb-3*",
            "idc:(A;C),cpu:>=16,~hostname:web-1*",
            "~idc:A",
            "idc:A,-idc:B",
            "cpu:[8 _TO_ 16]",
            "cpu:[* _TO_ 8]",
            "cpu:<8",
            "cpu:>4,cpu:<=16",
            "ram:>1.0",
            "ram:[0.5 _TO_ 1.5]",
            "online:2024-01-03",
            "online:>=2024-01-10 12:00:00",
            "online:[2024-01-02 _TO_ 2024-01-04]",
            "hostname:[web-2 _TO_ web-4*]",
            "hostname:>web-5",
            "_type:switch",
            "_type:(server;switch),idc:B",
            "_id:(1;2;3;7;999)",
            "nic:eth1",
            "nic:*",
            "idc:*",
        ];
        // Agreeing on empty answers would prove little: count the pages that hold CIs.
        let mut non_empty_pages = 0;
        for q in queries {
            for (facet, sort, page) in [
                (Some("idc,cpu,ram,online,nic,hostname"), None, 1),
                (None, Some("cpu"), 1),
                (None, Some("-cpu"), 2),
                (None, Some("hostname"), 1),
                (None, Some("-ram"), 1),
                (None, Some("online"), 3),
                (None, Some("-nic"), 1),
                (None, None, 2),
            ] {
                let search = input(q, facet, sort, page);
                let index = cmdb.index.clone();
                let (from_index, from_sql) = db
                    .read(move |conn| -> Result<_, Error> {
                        let cat = catalog(conn)?;
                        let plan = plan(&cat, &search)?;
                        let offset = (search.page - 1).saturating_mul(search.count);
                        index.sync(conn)?;
                        let from_index = find_in_index(&index, &plan, offset, search.count)
                            .expect("the index is usable");
                        let from_sql = find_in_sql(conn, &plan, offset, search.count)?;
                        Ok((
                            search_result(conn, &cat, &plan, &search, from_index)?,
                            search_result(conn, &cat, &plan, &search, from_sql)?,
                        ))
                    })
                    .await
                    .expect("both searches run");
                let context = format!("q={q:?} facet={facet:?} sort={sort:?} page={page}");
                if !from_index.result.is_empty() {
                    non_empty_pages += 1;
                }
                assert_eq!(
                    serde_json::to_value(&from_index).expect("json"),
                    serde_json::to_value(&from_sql).expect("json"),
                    "{context}"
                );
            }
        }
        assert!(non_empty_pages > 100, "{non_empty_pages} pages held CIs");
    }

    async fn hostnames(cmdb: &Cmdb, q: &str) -> Vec<String> {
        let found = cmdb.search(input(q, None, None, 1)).await.expect("search");
        found
            .result
            .iter()
            .map(|ci| ci["hostname"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A cmdb on a fresh database with a `server` type keyed by `hostname`, its index built:
    /// (the database's guard, the handle, the service, hostname's id, server's id).
    async fn indexed_servers(backend: TestBackend) -> (TestDatabase, Db, Cmdb, i64, i64) {
        let test_db = TestDatabase::create(backend, "cmdb_unit");
        let db = Db::open_async(&test_db.config, crate::migrations())
            .await
            .expect("database opens");
        let cmdb = Cmdb::new(db.clone(), crate::Config::default().auth);
        let hostname = cmdb
            .add_attribute(AttrInput {
                name: Some("hostname".into()),
                is_uniq: Some(true),
                ..AttrInput::default()
            })
            .await
            .expect("attribute added")
            .attr_id;
        let server = cmdb
            .add_type(TypeInput {
                name: Some("server".into()),
                unique: Some("hostname".into()),
                ..TypeInput::default()
            })
            .await
            .expect("type added")
            .type_id;
        cmdb.sync_index().await.expect("index built");
        (test_db, db, cmdb, hostname, server)
    }

    /// A bulk load in SQL is invisible to the index until it writes to the change log, and
    /// then found, whether it names its CIs or asks for a rebuild.
    async fn writers_outside_the_api_are_seen_once_logged(backend: TestBackend) {
        let (_test_db, db, cmdb, hostname, server) = indexed_servers(backend).await;
        let load = |name: &'static str| {
            db.write(move |conn| -> Result<i64, Error> {
                let id = store::insert_ci(conn, server)?;
                store::insert_value(conn, id, hostname, &Typed::Text(name.into()))?;
                Ok(id)
            })
        };

        let named = load("bulk-1").await.expect("loaded");
        assert!(hostnames(&cmdb, "hostname:bulk-*").await.is_empty());
        db.write(move |conn| -> Result<(), Error> { Ok(store::log_changes(conn, &[named])?) })
            .await
            .expect("logged");
        assert_eq!(hostnames(&cmdb, "hostname:bulk-*").await, vec!["bulk-1"]);

        load("bulk-2").await.expect("loaded");
        db.write(|conn| -> Result<(), Error> { Ok(store::log_changes(conn, &[store::REBUILD])?) })
            .await
            .expect("logged");
        assert_eq!(
            hostnames(&cmdb, "hostname:bulk-*").await,
            vec!["bulk-1", "bulk-2"]
        );
    }

    /// A process whose index is older than the start of the trimmed log cannot catch up from
    /// it, so it rebuilds; the trimmed rows are gone.
    async fn an_index_behind_the_trimmed_change_log_rebuilds(backend: TestBackend) {
        let (_test_db, db, cmdb, hostname, server) = indexed_servers(backend).await;

        // A CI loaded behind the index's back, then log entries naming other CIs only, then
        // the log trimmed past where this index stands.
        let upto = db
            .write(move |conn| -> Result<i64, Error> {
                let id = store::insert_ci(conn, server)?;
                store::insert_value(conn, id, hostname, &Typed::Text("hidden-1".into()))?;
                for other in [id + 1000, id + 1001, id + 1002] {
                    store::log_changes(conn, &[other])?;
                }
                let seq = store::change_seq(conn)?;
                store::trim_changes(conn, seq, 1, 1)?;
                Ok(seq - 1)
            })
            .await
            .expect("loaded, logged and trimmed");
        let (trimmed, left) = db
            .read(move |conn| -> Result<_, Error> {
                Ok((
                    store::trimmed_upto(conn)?,
                    store::changes_between(conn, 0, upto)?,
                ))
            })
            .await
            .expect("read the log");
        assert_eq!(trimmed, upto, "the log records where it now starts");
        assert!(left.is_empty(), "rows up to {upto} are deleted: {left:?}");
        // Catching up from the log alone would miss `hidden-1`; the rebuild finds it.
        assert_eq!(
            hostnames(&cmdb, "hostname:hidden-*").await,
            vec!["hidden-1"]
        );
    }
}
