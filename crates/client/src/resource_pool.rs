//! The client of resource-pool: one method per seed function, plus the audit log and probe.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use wire::resource_pool as w;

use crate::transport::{
    as_pairs, decode, ClientConfig, ClientError, Encoding, Idempotence, RawReply, Transport,
};

#[derive(Clone)]
pub struct ResourcePoolClient {
    transport: Transport,
    model: Option<String>,
}

crate::transport::transport_accessors!(ResourcePoolClient);

impl ResourcePoolClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(ResourcePoolClient {
            transport: Transport::new(config)?,
            model: None,
        })
    }

    /// The same client, sending `model` (the seed's "module that does the calling") on every call.
    pub fn with_model(&self, model: &str) -> Self {
        ResourcePoolClient {
            model: Some(model.to_string()),
            ..self.clone()
        }
    }

    /// Calls `/api/<function>` with any parameters, and returns the answer as it came
    /// (for callers that need the raw envelope, such as tests of bad input).
    pub async fn call_raw(
        &self,
        function: &str,
        method: Method,
        encoding: Encoding,
        params: &Value,
    ) -> Result<RawReply, ClientError> {
        let idempotence = if is_read(function) {
            Idempotence::Idempotent
        } else {
            Idempotence::NotIdempotent
        };
        let path = format!("/api/{function}");
        match encoding {
            // Query strings and forms carry only text.
            Encoding::Query | Encoding::Form => {
                let pairs = as_pairs(params);
                self.transport
                    .send(method, &path, encoding, &pairs, idempotence)
                    .await
            }
            Encoding::Json => {
                self.transport
                    .send(method, &path, encoding, params, idempotence)
                    .await
            }
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        function: &str,
        params: Value,
    ) -> Result<T, ClientError> {
        let mut params = params;
        if let (Some(model), Value::Object(map)) = (&self.model, &mut params) {
            map.entry("model")
                .or_insert_with(|| Value::String(model.clone()));
        }
        let (method, encoding) = if is_read(function) {
            (Method::GET, Encoding::Query)
        } else {
            (Method::POST, Encoding::Json)
        };
        let url = format!("{}/api/{function}", self.transport.base_url());
        let reply = self.call_raw(function, method, encoding, &params).await?;
        let envelope: w::Reply<Value> = decode(&url, reply.body)?;
        if envelope.code != w::ErrorCode::Success as i32 {
            return Err(ClientError::Api {
                url,
                status: reply.status.as_u16(),
                code: i64::from(envelope.code),
                message: envelope.msg,
            });
        }
        decode(&url, envelope.result.unwrap_or(Value::Null))
    }

    // ---- the seed's reads ----

    pub async fn all_instances(
        &self,
        stat: i32,
        count: i64,
    ) -> Result<Vec<w::Instance>, ClientError> {
        self.call("get_all_instance", listing(stat, count)).await
    }

    pub async fn all_servers(&self, stat: i32, count: i64) -> Result<Vec<w::Server>, ClientError> {
        self.call("get_all_server", listing(stat, count)).await
    }

    pub async fn all_databases(
        &self,
        stat: i32,
        count: i64,
    ) -> Result<Vec<w::Database>, ClientError> {
        self.call("get_all_db", listing(stat, count)).await
    }

    pub async fn instance(&self, ip: &str, port: i32) -> Result<w::Instance, ClientError> {
        self.call("get_instance", instance_at(ip, port)).await
    }

    pub async fn database(
        &self,
        ip: &str,
        port: i32,
        db: &str,
    ) -> Result<w::Database, ClientError> {
        self.call("get_database_by_name_instance", database_at(ip, port, db))
            .await
    }

    pub async fn server(&self, ip: &str) -> Result<w::Server, ClientError> {
        self.call("get_server_by_ip", json!({"ip": ip})).await
    }

    // ---- the seed's writes ----

    pub async fn add_server(
        &self,
        ip: &str,
        fields: &w::ServerFields,
    ) -> Result<w::Server, ClientError> {
        self.call("add_server", with(json!({"ip": ip}), fields))
            .await
    }

    pub async fn mod_server(
        &self,
        ip: &str,
        fields: &w::ServerFields,
    ) -> Result<w::Server, ClientError> {
        self.call("mod_server", with(json!({"ip": ip}), fields))
            .await
    }

    pub async fn del_server(&self, ip: &str, cascade: bool) -> Result<w::Deleted, ClientError> {
        self.call(
            "del_server",
            json!({"ip": ip, "cascade": u8::from(cascade)}),
        )
        .await
    }

    pub async fn add_instance(
        &self,
        ip: &str,
        port: i32,
        fields: &w::InstanceFields,
    ) -> Result<w::Instance, ClientError> {
        self.call("add_instance", with(instance_at(ip, port), fields))
            .await
    }

    pub async fn mod_instance(
        &self,
        ip: &str,
        port: i32,
        fields: &w::InstanceFields,
    ) -> Result<w::Instance, ClientError> {
        self.call("mod_instance", with(instance_at(ip, port), fields))
            .await
    }

    pub async fn del_instance(
        &self,
        ip: &str,
        port: i32,
        cascade: bool,
    ) -> Result<w::Deleted, ClientError> {
        self.call(
            "del_instance",
            json!({"ip": ip, "port": port, "cascade": u8::from(cascade)}),
        )
        .await
    }

    pub async fn add_database(
        &self,
        db: &str,
        ip: &str,
        port: i32,
        fields: &w::DatabaseFields,
    ) -> Result<w::Database, ClientError> {
        self.call(
            "add_database",
            with(json!({"db": db, "ip": ip, "port": port}), fields),
        )
        .await
    }

    pub async fn mod_database(
        &self,
        ip: &str,
        port: i32,
        db: &str,
        fields: &w::DatabaseFields,
    ) -> Result<w::Database, ClientError> {
        self.call("mod_database", with(database_at(ip, port, db), fields))
            .await
    }

    pub async fn del_database(
        &self,
        ip: &str,
        port: i32,
        db: &str,
    ) -> Result<w::Deleted, ClientError> {
        self.call("del_database", database_at(ip, port, db)).await
    }

    // ---- beyond the seed ----

    pub async fn audit_log(&self, filter: &w::AuditFilter) -> Result<w::AuditPage, ClientError> {
        self.call("audit_log", with(json!({}), filter)).await
    }

    pub async fn probe(&self, ip: &str, port: i32) -> Result<w::ProbeReport, ClientError> {
        self.call("probe_instance", instance_at(ip, port)).await
    }
}

/// `stat` and `count` of the `get_all_*` lists.
fn listing(stat: i32, count: i64) -> Value {
    json!({"stat": stat, "count": count})
}

fn instance_at(ip: &str, port: i32) -> Value {
    json!({"ip": ip, "port": port})
}

fn database_at(ip: &str, port: i32, db: &str) -> Value {
    json!({"ip": ip, "port": port, "db": db})
}

fn is_read(function: &str) -> bool {
    function.starts_with("get_") || function == "audit_log" || function == "probe_instance"
}

/// `base` with the serialized fields added.
fn with<T: serde::Serialize>(base: Value, fields: &T) -> Value {
    let mut map = match base {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Ok(Value::Object(extra)) = serde_json::to_value(fields) {
        map.extend(extra);
    }
    Value::Object(map)
}
