//! Request parameters from wherever the caller put them: the query string, a form body or a
//! JSON body (the seeds' examples use all three), merged into one map. Body keys win over
//! query keys. Extractors fail with the service's own error type `E`, so a bad request is
//! answered in that service's envelope.

use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, ResponseError};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub const DEFAULT_PAGE_SIZE: u64 = 10;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A request whose parameters cannot be read or do not fit; the message names the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("missing parameter `{0}`")]
    Missing(String),
    #[error("invalid parameter `{name}`: {reason}")]
    Invalid { name: String, reason: String },
    #[error("unknown parameter `{0}`")]
    Unknown(String),
    #[error("unreadable request body: {0}")]
    Body(String),
}

impl ParamsError {
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        ParamsError::Invalid {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}

/// The merged parameters. Values keep their JSON type when they came as JSON, strings otherwise.
#[derive(Debug, Clone, Default)]
pub struct ParamMap(pub Map<String, Value>);

/// The raw text of a request's JSON body, kept (in the request's extensions) beside the merged
/// parameters for a service that needs a value exactly as the client wrote it: a number
/// beyond 64 bits, or a float in the digits the client chose (cmdb checks signatures that
/// Python clients compute over `str()` of each value).
#[derive(Debug, Clone)]
pub struct RawJsonBody(pub web::Bytes);

/// Extractor of the merged parameters that fails with the service's error `E`.
pub struct Params<E> {
    map: Map<String, Value>,
    _error: PhantomData<E>,
}

impl<E> Params<E> {
    pub fn from_map(map: Map<String, Value>) -> Self {
        Params {
            map,
            _error: PhantomData,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes `name` and returns it as text; numbers and booleans are written out, null is absent.
    pub fn take_str(&mut self, name: &str) -> Result<Option<String>, ParamsError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(ParamsError::invalid(
                name,
                "expected a single value, not a list or object",
            )),
        }
    }

    /// Removes `name`, which must be text: a JSON number or boolean is refused (for a name or
    /// an address, `false` and `0` are mistakes, not values).
    pub fn require_text(&mut self, name: &str) -> Result<String, ParamsError> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Err(ParamsError::Missing(name.to_string())),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
            Some(Value::String(_)) => Err(ParamsError::Missing(name.to_string())),
            Some(_) => Err(ParamsError::invalid(name, "expected text")),
        }
    }

    /// Removes `name`; missing or blank is an error naming it.
    pub fn require_str(&mut self, name: &str) -> Result<String, ParamsError> {
        match self.take_str(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ParamsError::Missing(name.to_string())),
        }
    }

    /// Removes `name` and parses it as an integer (from a JSON number or a decimal string).
    pub fn take_int<T>(&mut self, name: &str) -> Result<Option<T>, ParamsError>
    where
        T: TryFrom<i64>,
    {
        let text = match self.take_str(name)? {
            None => return Ok(None),
            Some(s) if s.trim().is_empty() => return Ok(None),
            Some(s) => s,
        };
        let wide: i64 = text
            .trim()
            .parse()
            .map_err(|_| ParamsError::invalid(name, format!("`{text}` is not an integer")))?;
        T::try_from(wide)
            .map(Some)
            .map_err(|_| ParamsError::invalid(name, format!("{wide} is out of range")))
    }

    /// Removes `name` as a flag: 1/0, true/false, yes/no, on/off.
    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>, ParamsError> {
        let Some(text) = self.take_str(name)? else {
            return Ok(None);
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(ParamsError::invalid(
                name,
                format!("`{text}` is not a flag (1 or 0)"),
            )),
        }
    }

    /// Removes and returns `page` / `page_size` (page from 1; size from 1 to [`MAX_PAGE_SIZE`]).
    pub fn take_page(&mut self, default_size: u64) -> Result<Page, ParamsError> {
        let page: u64 = self.take_int("page")?.unwrap_or(1);
        let page_size: u64 = self.take_int("page_size")?.unwrap_or(default_size);
        if page == 0 {
            return Err(ParamsError::invalid("page", "pages count from 1"));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(ParamsError::invalid(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Page { page, page_size })
    }

    /// Fails on the first parameter nobody took, so a typo is not silently ignored.
    pub fn finish(self) -> Result<(), ParamsError> {
        match self.map.keys().next() {
            Some(name) => Err(ParamsError::Unknown(name.clone())),
            None => Ok(()),
        }
    }

    /// Deserializes what is left into `T` (use `#[serde(deny_unknown_fields)]` to refuse strays).
    pub fn into_struct<T: DeserializeOwned>(self) -> Result<T, ParamsError> {
        serde_path_to_error::deserialize(Value::Object(self.map)).map_err(|e| {
            let field = e.path().to_string();
            let text = e.inner().to_string();
            match text
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
            {
                Some(name) => ParamsError::Unknown(name.to_string()),
                None => ParamsError::Invalid {
                    name: if field == "." {
                        "parameters".into()
                    } else {
                        field
                    },
                    reason: text,
                },
            }
        })
    }
}

impl<E> FromRequest for Params<E>
where
    E: From<ParamsError> + ResponseError + 'static,
{
    type Error = E;
    type Future = LocalBoxFuture<'static, Result<Self, E>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let future = collect(req.clone(), payload.take());
        Box::pin(async move {
            let map = future.await.map_err(E::from)?;
            Ok(Params::from_map(map.0.clone()))
        })
    }
}

/// A page of a list: `page` counts from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub page_size: u64,
}

impl Page {
    pub fn offset(&self) -> i64 {
        ((self.page - 1).saturating_mul(self.page_size)).min(i64::MAX as u64) as i64
    }

    pub fn limit(&self) -> i64 {
        self.page_size as i64
    }
}

/// Reads the parameters once per request; later extractors get the cached map.
async fn collect(req: HttpRequest, mut payload: Payload) -> Result<Rc<ParamMap>, ParamsError> {
    if let Some(cached) = req.extensions().get::<Rc<ParamMap>>() {
        return Ok(cached.clone());
    }
    let mut map = Map::new();
    if !req.query_string().is_empty() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
            .map_err(|e| ParamsError::Body(format!("query string: {e}")))?;
        insert_pairs(pairs, &mut map)?;
    }
    // GET bodies are read too: the orchestration seed's own examples send `curl -X GET -d '{...}'`.
    // Its size and arrival time were bounded by `kit::guard` before routing.
    if req.method() != Method::HEAD {
        let body = web::Bytes::from_request(&req, &mut payload)
            .await
            .map_err(|e| ParamsError::Body(e.to_string()))?;
        if merge_body(&req, &body, &mut map)? {
            req.extensions_mut().insert(RawJsonBody(body));
        }
    }
    for (name, value) in &map {
        check_controls(name, value)?;
    }
    let shared = Rc::new(ParamMap(map));
    req.extensions_mut().insert(shared.clone());
    Ok(shared)
}

/// Merges the body's parameters into `map`; true when the body was JSON.
fn merge_body(
    req: &HttpRequest,
    body: &[u8],
    map: &mut Map<String, Value>,
) -> Result<bool, ParamsError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(false);
    }
    let content_type = req.content_type().to_ascii_lowercase();
    let looks_like_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if content_type.contains("json") || (content_type.is_empty() && looks_like_json) {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ParamsError::Body(format!("invalid JSON: {e}")))?;
        match value {
            Value::Object(fields) => map.extend(fields),
            _ => return Err(ParamsError::Body("the JSON body must be an object".into())),
        }
        Ok(true)
    } else if content_type.is_empty() || content_type == "application/x-www-form-urlencoded" {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| ParamsError::Body(format!("invalid form: {e}")))?;
        let mut form = Map::new();
        insert_pairs(pairs, &mut form)?;
        map.extend(form);
        Ok(false)
    } else {
        Err(ParamsError::Body(format!(
            "unsupported content type `{content_type}`: send JSON or a form"
        )))
    }
}

/// Adds `name=value` pairs; a name given twice is refused rather than resolved to one of them.
fn insert_pairs(
    pairs: Vec<(String, String)>,
    map: &mut Map<String, Value>,
) -> Result<(), ParamsError> {
    for (name, value) in pairs {
        if map.contains_key(&name) {
            return Err(ParamsError::invalid(&name, "given more than once"));
        }
        map.insert(name, Value::String(value));
    }
    Ok(())
}

/// No parameter name or text value holds a control character other than tab and line
/// breaks; fields that must be one line check that themselves ([`crate::text::check_line`]).
/// Objects inside a JSON body (a batch's rows, a task's params) are left to the domain that
/// reads them, which can refuse one row and keep the others.
fn check_controls(name: &str, value: &Value) -> Result<(), ParamsError> {
    crate::text::check_line(name, name)?;
    match value {
        Value::String(text) => crate::text::check_multiline(name, text),
        Value::Array(items) => items.iter().try_for_each(|item| match item {
            Value::String(text) => crate::text::check_multiline(name, text),
            _ => Ok(()),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Params<()> {
        match value {
            Value::Object(map) => Params::from_map(map),
            _ => unreachable!("test input is an object"),
        }
    }

    #[test]
    fn integers_come_from_numbers_and_strings() {
        let mut p = params(json!({"a": 5, "b": " 7 ", "c": "x", "d": 70000}));
        assert_eq!(p.take_int::<i32>("a"), Ok(Some(5)));
        assert_eq!(p.take_int::<i32>("b"), Ok(Some(7)));
        assert!(
            matches!(p.take_int::<i32>("c"), Err(ParamsError::Invalid { name, .. }) if name == "c")
        );
        assert!(
            matches!(p.take_int::<u16>("d"), Err(ParamsError::Invalid { name, .. }) if name == "d")
        );
        assert_eq!(p.take_int::<i32>("absent"), Ok(None));
    }

    #[test]
    fn pages_are_validated() {
        assert_eq!(
            params(json!({})).take_page(10),
            Ok(Page {
                page: 1,
                page_size: 10
            })
        );
        assert_eq!(
            params(json!({"page": "3", "page_size": 20})).take_page(10),
            Ok(Page {
                page: 3,
                page_size: 20
            })
        );
        assert!(params(json!({"page": 0})).take_page(10).is_err());
        assert!(params(json!({"page_size": 100000})).take_page(10).is_err());
        assert_eq!(
            Page {
                page: 3,
                page_size: 20
            }
            .offset(),
            40
        );
    }

    #[test]
    fn leftovers_are_reported_by_name() {
        let mut p = params(json!({"ip": "1.2.3.4", "typo": 1}));
        assert_eq!(p.require_str("ip"), Ok("1.2.3.4".to_string()));
        assert_eq!(p.finish(), Err(ParamsError::Unknown("typo".into())));
    }

    /// A service error type as services define theirs.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Refused(ParamsError);

    impl From<ParamsError> for Refused {
        fn from(e: ParamsError) -> Self {
            Refused(e)
        }
    }

    impl ResponseError for Refused {}

    /// A POST to `uri` with a body of `content_type`.
    fn post(uri: &str, content_type: &str, body: &str) -> actix_web::test::TestRequest {
        actix_web::test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", content_type))
            .set_payload(body.to_string())
    }

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    /// `request`'s parameters are refused, naming `field`.
    async fn assert_invalid(request: actix_web::test::TestRequest, field: &str) {
        let refused = extract(request).await;
        assert!(
            matches!(&refused, Err(ParamsError::Invalid { name, .. }) if name == field),
            "{field}: {:?}",
            refused.err()
        );
    }

    async fn extract(
        request: actix_web::test::TestRequest,
    ) -> Result<(Params<Refused>, Page), ParamsError> {
        let (req, mut payload) = request.to_http_parts();
        let params = Params::<Refused>::from_request(&req, &mut payload)
            .await
            .map_err(|e| e.0)?;
        // The second extractor of the same request reads the cached parameters.
        let page = Params::<Refused>::from_request(&req, &mut payload)
            .await
            .map_err(|e| e.0)?
            .take_page(DEFAULT_PAGE_SIZE)?;
        Ok((params, page))
    }

    #[actix_web::test]
    async fn query_form_and_json_merge_with_the_body_winning() {
        use actix_web::test::TestRequest;
        let json = post(
            "/x?a=1&b=2&page=2",
            JSON,
            r#"{"b": 3, "c": "x", "page_size": 5}"#,
        );
        let (mut p, page) = extract(json).await.expect("json");
        assert_eq!(
            page,
            Page {
                page: 2,
                page_size: 5
            }
        );
        assert_eq!(p.take_int::<i32>("a"), Ok(Some(1)));
        assert_eq!(p.take_int::<i32>("b"), Ok(Some(3)));
        assert_eq!(p.take_str("c"), Ok(Some("x".into())));

        let form = post("/x?a=1", FORM, "a=9&d=%E4%B8%AD");
        let (mut p, page) = extract(form).await.expect("form");
        assert_eq!(
            page,
            Page {
                page: 1,
                page_size: DEFAULT_PAGE_SIZE
            }
        );
        assert_eq!(p.take_str("a"), Ok(Some("9".into())));
        assert_eq!(p.take_str("d"), Ok(Some("中".into())));

        let get = TestRequest::get().uri("/x?page=3&page_size=7");
        let (_, page) = extract(get).await.expect("query");
        assert_eq!(
            page,
            Page {
                page: 3,
                page_size: 7
            }
        );
    }

    #[actix_web::test]
    async fn unreadable_bodies_are_refused() {
        use actix_web::test::TestRequest;
        for (content_type, body) in [
            ("application/json", "{broken"),
            ("application/json", "[1]"),
            ("text/plain", "a=1"),
        ] {
            let request = post("/x", content_type, body);
            assert!(
                matches!(extract(request).await, Err(ParamsError::Body(_))),
                "{content_type} {body}"
            );
        }
        let bad_page = TestRequest::get().uri("/x?page=zero");
        assert_invalid(bad_page, "page").await;
    }

    #[actix_web::test]
    async fn a_parameter_given_twice_is_refused() {
        use actix_web::test::TestRequest;
        let query = TestRequest::post().uri("/task/stop?id=1&id=2");
        assert!(
            matches!(extract(query).await, Err(ParamsError::Invalid { name, reason }) if name == "id" && reason.contains("more than once"))
        );
        let form = post("/x", FORM, "a=1&a=2");
        assert_invalid(form, "a").await;
    }

    #[actix_web::test]
    async fn control_characters_are_refused_wherever_they_come_from() {
        use actix_web::test::TestRequest;
        let query = TestRequest::get().uri("/x?name=a%1Bb");
        assert_invalid(query, "name").await;
        let json = post("/x", JSON, r#"{"nodes": ["ok", "nul\u0000"]}"#);
        assert_invalid(json, "nodes").await;
        let key = TestRequest::get().uri("/x?a%00=1");
        assert!(extract(key).await.is_err());
        // Line breaks and tabs are text, not controls, in free-text values.
        let script = post("/x", JSON, r##"{"content": "#!/bin/sh\n\techo hi\n"}"##);
        let (mut p, _) = extract(script).await.expect("multi-line text");
        assert_eq!(
            p.take_str("content"),
            Ok(Some("#!/bin/sh\n\techo hi\n".into()))
        );
    }

    #[test]
    fn text_is_text_and_not_a_number_or_a_flag() {
        let mut p = params(json!({"a": "host-1", "b": false, "c": 0, "d": " "}));
        assert_eq!(p.require_text("a"), Ok("host-1".to_string()));
        assert!(
            matches!(p.require_text("b"), Err(ParamsError::Invalid { name, .. }) if name == "b")
        );
        assert!(
            matches!(p.require_text("c"), Err(ParamsError::Invalid { name, .. }) if name == "c")
        );
        assert_eq!(p.require_text("d"), Err(ParamsError::Missing("d".into())));
        assert_eq!(p.require_text("e"), Err(ParamsError::Missing("e".into())));
    }

    #[test]
    fn lists_are_not_single_values() {
        let mut p = params(json!({"ip": ["a", "b"]}));
        assert!(matches!(p.take_str("ip"), Err(ParamsError::Invalid { .. })));
    }
}
