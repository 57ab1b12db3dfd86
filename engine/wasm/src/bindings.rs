//! Host bindings generated from the WIT world `ramal:node/node@0.1.0`.

wasmtime::component::bindgen!({
    path: "../../guest-sdk/wit",
    world: "node",
});
