//! The client of orchestrator: one method per route. Lists are read with GET and the page in
//! the query string; everything else is a POST with a JSON body.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use wire::orchestrator as w;

use crate::transport::{
    decode, ClientConfig, ClientError, Encoding, Idempotence, RawReply, Transport,
};

#[derive(Clone)]
pub struct OrchestratorClient {
    transport: Transport,
}

impl OrchestratorClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(OrchestratorClient {
            transport: Transport::new(config)?,
        })
    }

    pub fn with_request_id(&self, id: &str) -> Self {
        OrchestratorClient {
            transport: self.transport.with_request_id(id),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Sends anything to `path` and returns the answer as it came (for tests of bad input).
    /// GETs are retried on connection errors; other methods are not.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        encoding: Encoding,
        params: &Value,
    ) -> Result<RawReply, ClientError> {
        let idempotence = if method == Method::GET {
            Idempotence::Idempotent
        } else {
            Idempotence::NotIdempotent
        };
        match encoding {
            // Query strings and forms carry only text: JSON values are written out.
            Encoding::Query | Encoding::Form => {
                let pairs = as_pairs(params);
                self.transport
                    .send(method, path, encoding, &pairs, idempotence)
                    .await
            }
            Encoding::Json => {
                self.transport
                    .send(method, path, encoding, params, idempotence)
                    .await
            }
        }
    }

    /// POSTs `body` as it is with this content type (for tests of unreadable bodies).
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<RawReply, ClientError> {
        let url = self.url(path);
        let response = reqwest::Client::new()
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::Connect {
                url: url.clone(),
                reason: e.to_string(),
                attempts: 1,
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| ClientError::Decode {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            url,
            reason: format!("HTTP {status}, not JSON: {e}"),
        })?;
        Ok(RawReply {
            status,
            request_id: None,
            body,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.transport.base_url())
    }

    fn failed(&self, path: &str, status: u16, body: &Value) -> ClientError {
        ClientError::Api {
            url: self.url(path),
            status,
            code: body["code"].as_i64().unwrap_or(-1),
            message: body["msg"].as_str().unwrap_or_default().to_string(),
        }
    }

    /// POSTs `params` as JSON and decodes `data` of a successful answer.
    async fn post<T: DeserializeOwned, P: Serialize>(
        &self,
        path: &str,
        params: &P,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_value(params).map_err(|e| ClientError::Decode {
            url: self.url(path),
            reason: e.to_string(),
        })?;
        let reply = self
            .call_raw(Method::POST, path, Encoding::Json, &body)
            .await?;
        let envelope: w::Reply<Value> = decode(&self.url(path), reply.body.clone())?;
        if envelope.code != 0 {
            return Err(self.failed(path, reply.status.as_u16(), &reply.body));
        }
        decode(&self.url(path), envelope.data.unwrap_or(Value::Null))
    }

    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<T>, ClientError> {
        let params = json!({"page": page, "page_size": page_size});
        let reply = self
            .call_raw(Method::GET, path, Encoding::Query, &params)
            .await?;
        if reply.body["code"].as_i64() != Some(0) {
            return Err(self.failed(path, reply.status.as_u16(), &reply.body));
        }
        let list: w::ListReply<T> = decode(&self.url(path), reply.body)?;
        Ok(w::Listed {
            data: list.data,
            page: list.page,
            page_size: list.page_size,
            query_count: list.query_count,
        })
    }

    // ---- clusters ----

    pub async fn clusters(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Cluster>, ClientError> {
        self.list("/cluster/list", page, page_size).await
    }

    pub async fn create_cluster(
        &self,
        name: &str,
        desc: &str,
        biz: &str,
    ) -> Result<i64, ClientError> {
        self.post(
            "/cluster/create",
            &json!({"name": name, "desc": desc, "biz": biz}),
        )
        .await
    }

    /// Changes the given fields (`name`, `desc`, `biz`) of cluster `id`.
    pub async fn update_cluster(&self, id: i64, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/cluster/update/{id}"), fields)
            .await
            .map(drop)
    }

    pub async fn delete_cluster(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/cluster/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn cluster(&self, id: i64) -> Result<w::Cluster, ClientError> {
        self.post(&format!("/cluster/{id}"), &json!({})).await
    }

    pub async fn cluster_services(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Service>, ClientError> {
        self.list(&format!("/cluster/{id}/list_services"), page, page_size)
            .await
    }

    // ---- services ----

    /// Creates a service from `fields` (`name`, `desc`, `service_type`, `docker_image`,
    /// `cluster_id`); returns its id.
    pub async fn create_service(&self, fields: &Value) -> Result<i64, ClientError> {
        self.post::<w::Created, _>("/service/create", fields)
            .await
            .map(|c| c.id)
    }

    pub async fn delete_service(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/service/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn service(&self, id: i64) -> Result<w::Service, ClientError> {
        self.post(&format!("/service/{id}"), &json!({})).await
    }

    pub async fn service_pools(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Pool>, ClientError> {
        self.list(&format!("/service/{id}/list_pools"), page, page_size)
            .await
    }

    // ---- pools ----

    /// Creates a pool from `fields` (`name`, `desc`, `vm_type`, `sd_id`, `service_id`,
    /// `expand_tpl`, `shrink_tpl`, `deploy_tpl`); returns its id.
    pub async fn create_pool(&self, fields: &Value) -> Result<i64, ClientError> {
        self.post::<w::Created, _>("/pool/create", fields)
            .await
            .map(|c| c.id)
    }

    pub async fn update_pool(&self, id: i64, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/update/{id}"), fields)
            .await
            .map(drop)
    }

    pub async fn delete_pool(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn pool(&self, id: i64) -> Result<w::Pool, ClientError> {
        self.post(&format!("/pool/{id}"), &json!({})).await
    }

    pub async fn pool_nodes(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Node>, ClientError> {
        self.list(&format!("/pool/{id}/list_nodes"), page, page_size)
            .await
    }

    /// Records `ips` as manual nodes of pool `id`; returns the new node ids.
    pub async fn add_nodes(&self, id: i64, ips: &[&str]) -> Result<Vec<i64>, ClientError> {
        self.post(&format!("/pool/{id}/add_nodes"), &json!({"nodes": ips}))
            .await
    }

    pub async fn remove_nodes(&self, id: i64, ips: &[&str]) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/{id}/remove_nodes"), &json!({"nodes": ips}))
            .await
            .map(drop)
    }

    /// The pool of each of `ips` that is in one.
    pub async fn search_by_ip(&self, ips: &[&str]) -> Result<Map<String, Value>, ClientError> {
        self.post(&format!("/pool/search_by_ip/{}", ips.join(",")), &json!({}))
            .await
    }
}

fn as_pairs(params: &Value) -> Vec<(String, String)> {
    match params {
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
        _ => Vec::new(),
    }
}
