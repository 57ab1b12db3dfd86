//! The committed JSON Schema (`docs/flow.schema.json`) and the node reference in
//! `docs/flow-format.md` are generated from the catalog. This test fails when they are out
//! of date; `UPDATE_EXPECT=1 cargo test -p ramal-flow --test docs` rewrites them.

use std::path::PathBuf;

const BEGIN: &str = "<!-- BEGIN GENERATED NODE REFERENCE -->";
const END: &str = "<!-- END GENERATED NODE REFERENCE -->";

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn update() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

#[test]
fn the_committed_json_schema_is_generated_from_the_catalog() {
    let path = docs().join("flow.schema.json");
    let generated = format!(
        "{}\n",
        serde_json::to_string_pretty(&ramal_flow::schema::document_schema()).expect("json")
    );
    if update() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/flow.schema.json is out of date: run UPDATE_EXPECT=1 cargo test -p ramal-flow --test docs"
    );
}

#[test]
fn the_node_reference_in_flow_format_md_is_generated_from_the_catalog() {
    let path = docs().join("flow-format.md");
    let text = std::fs::read_to_string(&path).expect("docs/flow-format.md exists");
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        panic!("docs/flow-format.md lacks the generated-section markers");
    };
    let generated = format!(
        "{}{BEGIN}\n\n{}{}",
        &text[..begin],
        ramal_flow::schema::node_reference_markdown(),
        &text[end..]
    );
    if update() {
        std::fs::write(&path, &generated).expect("write docs");
    }
    assert!(
        text == generated,
        "the node reference in docs/flow-format.md is out of date: run UPDATE_EXPECT=1 cargo test -p ramal-flow --test docs"
    );
}

#[test]
fn the_example_flows_validate_against_the_schema_shape() {
    // Every example flow's kinds are in the schema's kind enum.
    let schema = ramal_flow::schema::document_schema();
    let kinds = schema
        .pointer("/$defs/NodeDocument/properties/kind/enum")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    assert!(kinds.len() >= 18, "every kind is listed: {kinds:?}");
    assert_eq!(
        schema.pointer("/properties/schema/const"),
        Some(&serde_json::json!("ramal.flow/v1"))
    );
}
