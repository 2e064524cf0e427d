//! The answers of the services that speak the orchestration seed (orchestrator and
//! task-engine): `{"code":0,"msg":"success","data":...}`, lists adding `page`, `page_size` and
//! `query_count`, and the positive ids their paths carry. Their errors go on the wire in
//! [`crate::status_error`], in the same envelope.

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::params::Page;
use crate::routes::Refusal;
use crate::status_error::{envelope, StatusError};

/// The field order of `wire::task_engine::Reply`, which the clients read.
#[derive(Serialize)]
struct Reply<T> {
    code: i64,
    msg: &'static str,
    data: T,
}

/// The field order of `wire::task_engine::ListReply`.
#[derive(Serialize)]
struct ListReply<T> {
    code: i64,
    msg: &'static str,
    data: Vec<T>,
    page: u64,
    page_size: u64,
    query_count: u64,
}

/// 200 with `data` in the success envelope.
pub fn success<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(Reply {
        code: 0,
        msg: "success",
        data,
    })
}

/// 200 with one page of a list: its `rows` and the `total` matching on every page.
pub fn listed<T: Serialize>(page: Page, rows: Vec<T>, total: u64) -> HttpResponse {
    HttpResponse::Ok().json(ListReply {
        code: 0,
        msg: "success",
        data: rows,
        page: page.page,
        page_size: page.page_size,
        query_count: total,
    })
}

/// The kit's refusals (404, 405, limits) in the seed's error envelope: the envelope a
/// `RouteTable` of these services is built with.
pub fn refused(refusal: &Refusal) -> HttpResponse {
    envelope(refusal.status(), &refusal.to_string())
}

/// An id written in a path: a positive integer.
pub fn parse_id(text: &str) -> Result<i64, StatusError> {
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(StatusError::BadArgument(format!(
            "invalid id `{text}`: must be a positive integer"
        ))),
    }
}

/// The path segment `{name}` of `req` as an id (see [`parse_id`]); a route without that
/// segment reads as an empty, refused id.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<i64, StatusError> {
    parse_id(req.match_info().get(name).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(response: HttpResponse) -> String {
        let bytes = response.into_body().try_into_bytes().expect("a body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[test]
    fn replies_carry_the_seed_envelope_in_its_order() {
        assert_eq!(body(success(7)), r#"{"code":0,"msg":"success","data":7}"#);
        assert_eq!(
            body(success(serde_json::Value::Null)),
            r#"{"code":0,"msg":"success","data":null}"#
        );
        let page = Page {
            page: 2,
            page_size: 1,
        };
        assert_eq!(
            body(listed(page, vec!["a"], 3)),
            r#"{"code":0,"msg":"success","data":["a"],"page":2,"page_size":1,"query_count":3}"#
        );
    }

    #[test]
    fn path_ids_are_positive_integers() {
        assert_eq!(parse_id(" 12 ").expect("an id"), 12);
        for bad in ["0", "-1", "x", ""] {
            let e = parse_id(bad).expect_err("refused");
            assert_eq!(
                e.to_string(),
                format!("invalid id `{bad}`: must be a positive integer")
            );
        }
        let req = actix_web::test::TestRequest::default()
            .param("id", "5")
            .to_http_request();
        assert_eq!(path_id(&req, "id").expect("an id"), 5);
        assert!(path_id(&req, "other").is_err());
    }
}
