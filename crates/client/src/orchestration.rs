//! What the task-engine and orchestrator clients share: both speak the orchestration seed's
//! envelope `{"code":0,"msg":"success","data":...}` (lists add page, page_size, query_count).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wire::task_engine::{ListReply, Listed, Reply};

use crate::transport::{decode, ClientError, Encoding, Transport};

fn url(transport: &Transport, path: &str) -> String {
    format!("{}{path}", transport.base_url())
}

fn failed(transport: &Transport, path: &str, status: u16, body: &Value) -> ClientError {
    ClientError::Api {
        url: url(transport, path),
        status,
        code: body["code"].as_i64().unwrap_or(-1),
        message: body["msg"].as_str().unwrap_or_default().to_string(),
    }
}

/// POSTs `params` as JSON and decodes `data` of a successful answer.
pub(crate) async fn post<T: DeserializeOwned, P: Serialize>(
    transport: &Transport,
    path: &str,
    params: &P,
) -> Result<T, ClientError> {
    let body = serde_json::to_value(params).map_err(|e| ClientError::Decode {
        url: url(transport, path),
        reason: e.to_string(),
    })?;
    let reply = transport
        .send_value(Method::POST, path, Encoding::Json, &body)
        .await?;
    let envelope: Reply<Value> = decode(&url(transport, path), reply.body.clone())?;
    if envelope.code != 0 {
        return Err(failed(transport, path, reply.status.as_u16(), &reply.body));
    }
    decode(&url(transport, path), envelope.data.unwrap_or(Value::Null))
}

/// GETs a page of a list (page and page_size in the query string).
pub(crate) async fn list<T: DeserializeOwned>(
    transport: &Transport,
    path: &str,
    page: u64,
    page_size: u64,
) -> Result<Listed<T>, ClientError> {
    let params = json!({"page": page, "page_size": page_size});
    let reply = transport
        .send_value(Method::GET, path, Encoding::Query, &params)
        .await?;
    if reply.body["code"].as_i64() != Some(0) {
        return Err(failed(transport, path, reply.status.as_u16(), &reply.body));
    }
    let list: ListReply<T> = decode(&url(transport, path), reply.body)?;
    Ok(Listed {
        data: list.data,
        page: list.page,
        page_size: list.page_size,
        query_count: list.query_count,
    })
}
