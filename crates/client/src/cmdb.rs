//! The client of cmdb (`/api/v0.1/...`). Requests are signed with an api key when one is
//! set: `_secret = hex(sha1(path + secret + values of the other parameters by name))`.
//! Reads go in the query string, writes as a JSON body, deletes in the query string.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use wire::cmdb as w;

use crate::transport::{
    decode, ClientConfig, ClientError, Encoding, Idempotence, RawReply, Transport,
};

pub const API: &str = "/api/v0.1";

#[derive(Clone)]
struct ApiKey {
    key: String,
    secret: String,
}

#[derive(Clone)]
pub struct CmdbClient {
    transport: Transport,
    key: Option<ApiKey>,
    timestamps: bool,
}

crate::transport::transport_accessors!(CmdbClient);

pub use wire::cmdb::{signature as sign, signed_text};

impl CmdbClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(CmdbClient {
            transport: Transport::new(config)?,
            key: None,
            timestamps: false,
        })
    }

    /// The same client, signing every request with this api key and secret.
    pub fn with_key(&self, key: &str, secret: &str) -> Self {
        CmdbClient {
            key: Some(ApiKey {
                key: key.to_string(),
                secret: secret.to_string(),
            }),
            ..self.clone()
        }
    }

    /// The same client, adding a signed `_ts` (unix seconds) to every request.
    pub fn with_timestamps(&self) -> Self {
        CmdbClient {
            timestamps: true,
            ..self.clone()
        }
    }

    /// Sends `params` to `API + path`, signed when the client has a key, and returns the
    /// answer whatever its status.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        params: &Value,
    ) -> Result<RawReply, ClientError> {
        let full = format!("{API}{path}");
        let mut map = match params {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        map.retain(|_, v| !v.is_null());
        if let Some(key) = &self.key {
            if self.timestamps {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default();
                map.insert("_ts".into(), Value::from(now));
            }
            map.insert("_key".into(), Value::String(key.key.clone()));
            let signature = sign(&full, &key.secret, &map);
            map.insert("_secret".into(), Value::String(signature));
        }
        let idempotence = if method == Method::GET {
            Idempotence::Idempotent
        } else {
            Idempotence::NotIdempotent
        };
        if method == Method::POST || method == Method::PUT {
            self.transport
                .send(
                    method,
                    &full,
                    Encoding::Json,
                    &Value::Object(map),
                    idempotence,
                )
                .await
        } else {
            let pairs: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| (k.clone(), signed_text(v)))
                .collect();
            self.transport
                .send(method, &full, Encoding::Query, &pairs, idempotence)
                .await
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: Value,
    ) -> Result<T, ClientError> {
        let url = format!("{}{API}{path}", self.transport.base_url());
        let reply = self.call_raw(method, path, &params).await?;
        if !reply.status.is_success() {
            let message = reply.body["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| reply.body.to_string());
            return Err(ClientError::Api {
                url,
                status: reply.status.as_u16(),
                code: i64::from(reply.status.as_u16()),
                message,
            });
        }
        decode(&url, reply.body)
    }

    // ---- attributes ----

    pub async fn attributes(&self, q: Option<&str>) -> Result<w::AttributeList, ClientError> {
        self.call(Method::GET, "/attributes", json!({"q": q})).await
    }

    pub async fn attribute(&self, key: &str) -> Result<w::AttributeOne, ClientError> {
        self.call(Method::GET, &format!("/attributes/{key}"), json!({}))
            .await
    }

    /// `params`: `attr_name`, `attr_alias`, `value_type`, `choice_value`, `is_multivalue`, `is_uniq`.
    pub async fn add_attribute(&self, params: Value) -> Result<w::AttrId, ClientError> {
        self.call(Method::POST, "/attributes", params).await
    }

    pub async fn update_attribute(&self, id: i64, params: Value) -> Result<w::AttrId, ClientError> {
        self.call(Method::PUT, &format!("/attributes/{id}"), params)
            .await
    }

    pub async fn delete_attribute(&self, id: i64) -> Result<w::Message, ClientError> {
        self.call(Method::DELETE, &format!("/attributes/{id}"), json!({}))
            .await
    }

    pub async fn type_attributes(&self, type_id: i64) -> Result<w::TypeAttributes, ClientError> {
        self.call(
            Method::GET,
            &format!("/attributes/citype/{type_id}"),
            json!({}),
        )
        .await
    }

    pub async fn bind_attributes(
        &self,
        type_id: i64,
        attr_ids: &[i64],
        required: bool,
    ) -> Result<w::AttrIds, ClientError> {
        self.call(
            Method::POST,
            &format!("/attributes/citype/{type_id}"),
            json!({"attr_id": join_ids(attr_ids), "is_required": u8::from(required)}),
        )
        .await
    }

    pub async fn unbind_attributes(
        &self,
        type_id: i64,
        attr_ids: &[i64],
    ) -> Result<w::AttrIds, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/attributes/citype/{type_id}"),
            json!({"attr_id": join_ids(attr_ids)}),
        )
        .await
    }

    // ---- CI types ----

    pub async fn citypes(&self, type_name: Option<&str>) -> Result<w::CiTypeList, ClientError> {
        self.call(Method::GET, "/citypes", json!({"type_name": type_name}))
            .await
    }

    pub async fn query_citype(&self, key: &str) -> Result<w::CiTypeOne, ClientError> {
        self.call(Method::GET, "/citypes/query", json!({"type": key}))
            .await
    }

    /// `params`: `type_name`, `type_alias`, `_id` or `unique`, `icon_url`, `enabled`.
    pub async fn add_citype(&self, params: Value) -> Result<w::TypeId, ClientError> {
        self.call(Method::POST, "/citypes", params).await
    }

    pub async fn update_citype(&self, id: i64, params: Value) -> Result<w::TypeId, ClientError> {
        self.call(Method::PUT, &format!("/citypes/{id}"), params)
            .await
    }

    pub async fn enable_citype(&self, id: i64, enabled: bool) -> Result<w::TypeId, ClientError> {
        self.call(
            Method::POST,
            &format!("/citypes/enable/{id}"),
            json!({"enabled": u8::from(enabled)}),
        )
        .await
    }

    pub async fn delete_citype(&self, id: i64) -> Result<w::Message, ClientError> {
        self.call(Method::DELETE, &format!("/citypes/{id}"), json!({}))
            .await
    }

    // ---- CI type relations ----

    pub async fn citype_relation_types(&self) -> Result<w::RelationTypes, ClientError> {
        self.call(Method::GET, "/cityperelations/types", json!({}))
            .await
    }

    pub async fn citype_children(&self, parent: i64) -> Result<w::Children, ClientError> {
        self.call(
            Method::GET,
            &format!("/cityperelations/{parent}/children"),
            json!({}),
        )
        .await
    }

    pub async fn citype_parents(&self, child: i64) -> Result<w::Parents, ClientError> {
        self.call(
            Method::GET,
            &format!("/cityperelations/{child}/parents"),
            json!({}),
        )
        .await
    }

    pub async fn add_citype_relation(
        &self,
        parent: i64,
        child: i64,
        relation_type: &str,
    ) -> Result<w::CtrId, ClientError> {
        self.call(
            Method::POST,
            &format!("/cityperelations/{parent}/{child}"),
            json!({"relation_type": relation_type}),
        )
        .await
    }

    pub async fn delete_citype_relation(&self, ctr_id: i64) -> Result<w::Message, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/cityperelations/{ctr_id}"),
            json!({}),
        )
        .await
    }

    // ---- CIs ----

    /// `params`: `fields`, `ret_key`, `page`.
    pub async fn cis_of_type(&self, type_id: i64, params: Value) -> Result<w::CiPage, ClientError> {
        self.call(Method::GET, &format!("/ci/type/{type_id}"), params)
            .await
    }

    pub async fn ci(&self, id: i64) -> Result<w::CiOne, ClientError> {
        self.call(Method::GET, &format!("/ci/{id}"), json!({}))
            .await
    }

    /// `params`: `ci_type`, `_no_attribute_policy`, and `attribute: value` pairs.
    pub async fn add_ci(&self, params: Value) -> Result<w::CiId, ClientError> {
        self.call(Method::POST, "/ci", params).await
    }

    pub async fn update_ci(&self, params: Value) -> Result<w::CiId, ClientError> {
        self.call(Method::PUT, "/ci", params).await
    }

    /// Adds or updates many CIs: `params` holds `cis` (a list of attribute objects) and
    /// optionally `ci_type` and `_no_attribute_policy` for every row.
    pub async fn batch_cis(&self, params: Value) -> Result<w::BatchResult, ClientError> {
        self.call(Method::POST, "/ci/batch", params).await
    }

    pub async fn delete_ci(&self, id: i64) -> Result<w::Message, ClientError> {
        self.call(Method::DELETE, &format!("/ci/{id}"), json!({}))
            .await
    }

    /// `params`: `q`, `_type`, `_id`, `fl`, `ret_key`, `count`, `page`, `facet`, `sort`.
    pub async fn search(&self, params: Value) -> Result<w::SearchResult, ClientError> {
        self.call(Method::GET, "/ci/s", params).await
    }

    // ---- CI relations ----

    pub async fn ci_relation_types(&self) -> Result<w::RelationTypes, ClientError> {
        self.call(Method::GET, "/cirelations/types", json!({}))
            .await
    }

    pub async fn second_cis(&self, first: i64) -> Result<w::SecondCis, ClientError> {
        self.call(
            Method::GET,
            &format!("/cirelations/{first}/second_cis"),
            json!({}),
        )
        .await
    }

    pub async fn first_cis(&self, second: i64) -> Result<w::FirstCis, ClientError> {
        self.call(
            Method::GET,
            &format!("/cirelations/{second}/first_cis"),
            json!({}),
        )
        .await
    }

    /// The CIs within `depth` hops of `root`, with the relations between them.
    pub async fn ci_graph(&self, root: i64, depth: i64) -> Result<w::CiGraph, ClientError> {
        self.call(
            Method::GET,
            &format!("/cirelations/{root}/graph"),
            json!({"depth": depth}),
        )
        .await
    }

    pub async fn add_ci_relation(
        &self,
        first: i64,
        second: i64,
        relation_type: &str,
        more: Option<i64>,
    ) -> Result<w::CrId, ClientError> {
        self.call(
            Method::POST,
            &format!("/cirelations/{first}/{second}"),
            json!({"relation_type": relation_type, "more": more}),
        )
        .await
    }

    pub async fn delete_ci_relation(&self, cr_id: i64) -> Result<w::Message, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/cirelations/delete/{cr_id}"),
            json!({}),
        )
        .await
    }

    // ---- history ----

    /// `params`: `page`, `page_size`, `username`, `start`, `end`.
    pub async fn history(&self, params: Value) -> Result<w::HistoryList, ClientError> {
        self.call(Method::GET, "/history/record", params).await
    }

    pub async fn history_record(&self, id: i64) -> Result<w::HistoryDetail, ClientError> {
        self.call(Method::GET, &format!("/history/{id}"), json!({}))
            .await
    }

    // ---- users ----

    pub async fn create_user(
        &self,
        username: &str,
        is_admin: bool,
    ) -> Result<w::User, ClientError> {
        self.call(
            Method::POST,
            "/users",
            json!({"username": username, "is_admin": u8::from(is_admin)}),
        )
        .await
    }

    pub async fn user(&self, username: &str) -> Result<w::User, ClientError> {
        self.call(Method::GET, &format!("/users/{username}"), json!({}))
            .await
    }
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}
