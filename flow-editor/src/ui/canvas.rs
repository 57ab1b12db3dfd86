//! The canvas: an SVG of the nodes and their connections. Pan and zoom are one transform on
//! the top group, and each node and edge is a component with comparable properties, so a
//! drag re-renders only what moved.

use crate::model::NodeView;
use crate::model::geometry::{NODE_HEIGHT, Point, input_point};
use crate::model::path::PathHighlight;
use std::collections::HashMap;
use yew::prelude::*;

/// Properties of [`NodeBox`].
#[derive(Properties, PartialEq)]
pub struct NodeProps {
    /// The node as drawn.
    pub view: NodeView,
    /// Visited by the path shown (simulation or replay): visits and first entry (ms).
    pub visit: Option<(u32, u64)>,
    /// The call is (or ended) here.
    pub current: bool,
    /// Ports the path took.
    pub taken: Vec<String>,
}

/// One node: a box with its title and kind, an error badge, and its output ports.
#[function_component]
pub fn NodeBox(props: &NodeProps) -> Html {
    let view = &props.view;
    let rect = view.rect;
    let class = classes!(
        "node",
        format!("kind-{}", view.kind),
        view.selected.then_some("selected"),
        (view.errors > 0).then_some("has-error"),
        (view.errors == 0 && view.warnings > 0).then_some("has-warning"),
        props.visit.is_some().then_some("visited"),
        props.current.then_some("current"),
    );
    let badge = if view.errors > 0 {
        html! {
            <g class="badge error">
                <circle cx={(rect.x + rect.width).to_string()} cy={rect.y.to_string()} r="10" />
                <text x={(rect.x + rect.width).to_string()} y={(rect.y + 4.0).to_string()} text-anchor="middle">{view.errors}</text>
            </g>
        }
    } else {
        html! {}
    };
    let visit = match props.visit {
        Some((count, first_ms)) => html! {
            <text class="visit" x={(rect.x + rect.width - 6.0).to_string()} y={(rect.y + 16.0).to_string()} text-anchor="end">
                {if count > 1 { format!("×{count} +{}", super::util::seconds(first_ms)) } else { format!("+{}", super::util::seconds(first_ms)) }}
            </text>
        },
        None => html! {},
    };
    html! {
        <g {class} data-node-id={view.id.clone()} role="group" aria-label={format!("{} node {}", view.kind, view.title)}>
            <rect class="node-body" x={rect.x.to_string()} y={rect.y.to_string()}
                width={rect.width.to_string()} height={NODE_HEIGHT.to_string()} rx="6" />
            <text class="title" x={(rect.x + 10.0).to_string()} y={(rect.y + 20.0).to_string()}>{&view.title}</text>
            <text class="kind" x={(rect.x + 10.0).to_string()} y={(rect.y + 36.0).to_string()}>{&view.kind}</text>
            {visit}
            { for view.ports.iter().map(|(name, at, target)| {
                let taken = props.taken.contains(name);
                html! {
                    <g class={classes!("port", target.is_some().then_some("connected"), taken.then_some("taken"))}>
                        <circle class="port" data-node-id={view.id.clone()} data-port={name.clone()}
                            cx={at.x.to_string()} cy={at.y.to_string()} r="6" />
                        <text class="port-name" x={at.x.to_string()} y={(at.y - 8.0).to_string()} text-anchor="middle">{name}</text>
                    </g>
                }
            }) }
            {badge}
        </g>
    }
}

/// Properties of [`Edge`].
#[derive(Properties, PartialEq)]
pub struct EdgeProps {
    /// The port's position.
    pub from: Point,
    /// The target's input.
    pub to: Point,
    /// Did the path shown take it?
    pub taken: bool,
    /// `node:port`, for tests and tooltips.
    pub name: String,
}

/// A connection: a curve from a port down to a node's top.
#[function_component]
pub fn Edge(props: &EdgeProps) -> Html {
    html! {
        <path class={classes!("edge", props.taken.then_some("taken"))} data-edge={props.name.clone()}
            d={curve(props.from, props.to)} />
    }
}

/// A cubic curve leaving downwards and arriving from above.
pub fn curve(from: Point, to: Point) -> String {
    let bend = ((to.y - from.y).abs() / 2.0).max(40.0);
    format!(
        "M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        from.x,
        from.y,
        from.x,
        from.y + bend,
        to.x,
        to.y - bend,
        to.x,
        to.y
    )
}

/// The nodes and edges, given the views and the highlighted path.
pub fn contents(views: &[NodeView], path: &PathHighlight) -> Html {
    let inputs: HashMap<&str, Point> = views
        .iter()
        .map(|view| (view.id.as_str(), input_point(&view.rect)))
        .collect();
    let edges = views.iter().flat_map(|view| {
        view.ports.iter().filter_map(|(port, from, target)| {
            let to = *inputs.get(target.as_deref()?)?;
            let taken = path.ports.contains(&(view.id.clone(), port.clone()));
            let name = format!("{}:{port}", view.id);
            let key = name.clone();
            Some(html! { <Edge {key} from={*from} {to} {taken} {name} /> })
        })
    });
    let nodes = views.iter().map(|view| {
        let visit = path.visits.get(&view.id).map(|v| (v.count, v.first_ms));
        let taken: Vec<String> = view
            .ports
            .iter()
            .filter(|(port, _, _)| path.ports.contains(&(view.id.clone(), port.clone())))
            .map(|(port, _, _)| port.clone())
            .collect();
        let current = path.current.as_deref() == Some(view.id.as_str());
        html! { <NodeBox key={view.id.clone()} view={view.clone()} {visit} {current} {taken} /> }
    });
    html! { <>{ for edges }{ for nodes }</> }
}
