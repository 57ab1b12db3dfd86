//! The OpenAPI 3.1 document (`GET /api/openapi.json`) and a docs page (`GET /api/docs`)
//! that renders it with no outside assets.
//!
//! The document is generated from the route table ([`super::routes`]) — so no route can
//! be missing from it — plus, per route, the request and response types, whose JSON
//! Schemas come from `schemars` (the same derives the store types carry). utoipa was not
//! used: it would annotate every handler a second time (the table already says method,
//! path and access) and add its macro crates to a build shared by three engineers on two
//! cores.

use super::agent::{AgentDisposition, AgentStatus, AgentsOverview, PauseBody};
use super::auth::{Credentials, CurrentUser};
use super::calls::{ListQuery as CallsQuery, SetRoute};
use super::campaigns::StatusChange;
use super::contacts::{ImportQuery, NewContactBody, NewList};
use super::tokens::NewToken;
use super::users::{CreateUser, SipPassword};
use super::{Access, RouteInfo, Verb, routes};
use axum::Json;
use axum::response::Html;
use ramal_store::{
    ApiToken, CallRecord, Campaign, CampaignSpec, Contact, ContactImport, ContactList, Disposition,
    DispositionResult, DispositionSpec, FieldError, ImportReport, NewDispositionResult, Queue,
    QueueSpec, Trunk, TrunkSpec, User,
};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// What a route takes and gives, as schemas.
#[derive(Default)]
struct Shapes {
    request: Option<(&'static str, Value)>,
    response: Option<Value>,
    query: Option<Value>,
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    generator.subschema_for::<T>().to_value()
}

fn json_body<T: JsonSchema>(generator: &mut SchemaGenerator) -> Option<(&'static str, Value)> {
    Some(("application/json", schema::<T>(generator)))
}

/// `{items, next_after}` of `T`.
fn page<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({
        "type": "object",
        "required": ["items", "next_after"],
        "properties": {
            "items": {"type": "array", "items": schema::<T>(generator)},
            "next_after": {"type": ["integer", "null"], "description": "pass as `after` for the next page"}
        }
    })
}

fn array<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    json!({"type": "array", "items": schema::<T>(generator)})
}

fn paging() -> Value {
    json!({
        "type": "object",
        "properties": {
            "after": {"type": "integer", "description": "the last id of the previous page"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000}
        }
    })
}

#[rustfmt::skip] // a table: one route per line
fn shapes(route: &RouteInfo, g: &mut SchemaGenerator) -> Shapes {
    use Verb::{Delete, Get, Post, Put};
    let none = Shapes::default;
    match (route.verb, route.path) {
        (Post, "/api/auth/login") => Shapes { request: json_body::<Credentials>(g), response: Some(schema::<CurrentUser>(g)), ..none() },
        (Get, "/api/auth/me") => Shapes { response: Some(schema::<CurrentUser>(g)), ..none() },
        (Get, "/api/users") => Shapes { response: Some(array::<User>(g)), ..none() },
        (Post, "/api/users") => Shapes { request: json_body::<CreateUser>(g), response: Some(schema::<User>(g)), ..none() },
        (Put, "/api/users/{id}/sip-password") => Shapes { request: json_body::<SipPassword>(g), ..none() },
        (Get, "/api/tokens") => Shapes { response: Some(array::<ApiToken>(g)), ..none() },
        (Post, "/api/tokens") => Shapes { request: json_body::<NewToken>(g), ..none() },
        (Get, "/api/calls") => Shapes { response: Some(array::<CallRecord>(g)), query: Some(schema::<CallsQuery>(g)), ..none() },
        (Get, "/api/calls/{id}") => Shapes { response: Some(schema::<CallRecord>(g)), ..none() },
        (Put, "/api/routes/{number}") => Shapes { request: json_body::<SetRoute>(g), ..none() },
        (Get, "/api/trunks") => Shapes { response: Some(array::<Trunk>(g)), ..none() },
        (Post | Put, "/api/trunks" | "/api/trunks/{id}") => Shapes { request: json_body::<TrunkSpec>(g), response: Some(schema::<Trunk>(g)), ..none() },
        (Get, "/api/trunks/{id}") => Shapes { response: Some(schema::<Trunk>(g)), ..none() },
        (Get, "/api/queues") => Shapes { response: Some(array::<Queue>(g)), ..none() },
        (Post | Put, "/api/queues" | "/api/queues/{id}") => Shapes { request: json_body::<QueueSpec>(g), response: Some(schema::<Queue>(g)), ..none() },
        (Get, "/api/queues/{id}") => Shapes { response: Some(schema::<Queue>(g)), ..none() },
        (Get, "/api/campaigns") => Shapes { response: Some(array::<Campaign>(g)), ..none() },
        (Post | Put, "/api/campaigns" | "/api/campaigns/{id}") => Shapes { request: json_body::<CampaignSpec>(g), response: Some(schema::<Campaign>(g)), ..none() },
        (Get, "/api/campaigns/{id}") => Shapes { response: Some(schema::<Campaign>(g)), ..none() },
        (Post, "/api/campaigns/{id}/status") => Shapes { request: json_body::<StatusChange>(g), response: Some(schema::<Campaign>(g)), ..none() },
        (Get, "/api/campaigns/{id}/dispositions") => Shapes { response: Some(array::<Disposition>(g)), ..none() },
        (Post | Put, "/api/campaigns/{id}/dispositions" | "/api/campaigns/{id}/dispositions/{disposition_id}") => Shapes { request: json_body::<DispositionSpec>(g), response: Some(schema::<Disposition>(g)), ..none() },
        (Get, "/api/campaigns/{id}/results") => Shapes { response: Some(page::<DispositionResult>(g)), query: Some(paging()), ..none() },
        (Post, "/api/campaigns/{id}/results") => Shapes { request: json_body::<NewDispositionResult>(g), response: Some(schema::<DispositionResult>(g)), ..none() },
        (Get, "/api/contact-lists") => Shapes { response: Some(array::<ContactList>(g)), ..none() },
        (Post, "/api/contact-lists") => Shapes { request: json_body::<NewList>(g), response: Some(schema::<ContactList>(g)), ..none() },
        (Get, "/api/contact-lists/{id}") => Shapes { response: Some(schema::<ContactList>(g)), ..none() },
        (Get, "/api/contact-lists/{id}/contacts") => {
            let mut query = paging();
            query["properties"]["phone"] = json!({"type": "string", "description": "a phone number, typed any way"});
            Shapes { response: Some(page::<Contact>(g)), query: Some(query), ..none() }
        }
        (Post, "/api/contact-lists/{id}/contacts") => Shapes { request: json_body::<NewContactBody>(g), response: Some(schema::<Contact>(g)), ..none() },
        (Get, "/api/contact-lists/{id}/imports") => Shapes { response: Some(array::<ContactImport>(g)), ..none() },
        (Post, "/api/contact-lists/{id}/imports") => Shapes {
            request: Some(("text/csv", json!({"type": "string", "description": "the CSV file, streamed"}))),
            response: Some(schema::<ImportReport>(g)),
            query: Some(schema::<ImportQuery>(g)),
        },
        (Get, "/api/agent") | (Post, "/api/agent/login" | "/api/agent/logout" | "/api/agent/unpause") => Shapes { response: Some(schema::<AgentStatus>(g)), ..none() },
        (Post, "/api/agent/pause") => Shapes { request: json_body::<PauseBody>(g), response: Some(schema::<AgentStatus>(g)), ..none() },
        (Post, "/api/agent/disposition") => Shapes { request: json_body::<AgentDisposition>(g), response: Some(schema::<DispositionResult>(g)), ..none() },
        (Get, "/api/agents") => Shapes { response: Some(schema::<AgentsOverview>(g)), ..none() },
        (Delete, _) => none(),
        _ => none(),
    }
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

/// Query parameters from an object schema (inlined: `$ref`s are resolved in `definitions`).
fn query_parameters(query: &Value, definitions: &Map<String, Value>) -> Vec<Value> {
    let resolved = query
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|reference| reference.rsplit('/').next())
        .and_then(|name| definitions.get(name))
        .unwrap_or(query);
    resolved
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| json!({"name": name, "in": "query", "required": false, "schema": schema}))
                .collect()
        })
        .unwrap_or_default()
}

fn access_text(access: Access) -> &'static str {
    match access {
        Access::Public => "anyone",
        Access::AnyUser => "any logged-in user",
        Access::Supervisor => "supervisors and admins",
        Access::Admin => "admins",
    }
}

/// The OpenAPI document of every route in the table.
pub fn document() -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable: auth.required, auth.forbidden, not_found, conflict, body.invalid, body.too_large, validation.failed, field.invalid, internal, …"},
                "message": {"type": "string"},
                "fields": {"type": "array", "items": schema::<FieldError>(&mut generator)}
            }
        }}
    });
    let all = routes();
    let mut shapes_of = Vec::new();
    for route in &all {
        shapes_of.push(shapes(route, &mut generator));
    }
    let mut definitions: Map<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    definitions.insert("Error".into(), error);
    let mut paths = Map::new();
    for (route, shapes) in all.iter().zip(shapes_of) {
        let mut operation = json!({
            "summary": route.summary,
            "description": format!("Access: {}.", access_text(route.access)),
            "x-ramal-access": format!("{:?}", route.access).to_lowercase(),
            "responses": {
                "2XX": {"description": "success"},
                "4XX": {"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "5XX": {"description": "our failure (no details)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if route.access == Access::Public {
            operation["security"] = json!([]);
        }
        let mut parameters = path_parameters(route.path);
        if let Some(query) = &shapes.query {
            parameters.extend(query_parameters(query, &definitions));
        }
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some((content_type, schema)) = shapes.request {
            operation["requestBody"] =
                json!({"required": true, "content": {content_type: {"schema": schema}}});
        }
        if let Some(schema) = shapes.response {
            operation["responses"]["2XX"]["content"] =
                json!({"application/json": {"schema": schema}});
        }
        let method = route.verb.method().as_str().to_lowercase();
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ramal",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Call flows, campaigns, contacts and calls. Log in with POST /api/auth/login (a session cookie) or send an API token as `Authorization: Bearer …`. Invalid input is 422 `validation.failed` with each field's path."
        },
        "components": {
            "schemas": definitions,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": super::SESSION_COOKIE},
                "token": {"type": "http", "scheme": "bearer"}
            }
        },
        "security": [{"session": []}, {"token": []}],
        "paths": paths,
    })
}

/// `GET /api/openapi.json`.
pub(super) async fn serve_document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document).clone())
}

/// `GET /api/docs`: renders the document in the browser (no outside assets).
pub(super) async fn docs_page() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
