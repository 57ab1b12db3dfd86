use super::geometry::{GRID, NODE_HEIGHT, Point};
use super::palette::palette;
use super::*;

fn item(kind: &str) -> PaletteItem {
    palette(&[])
        .into_iter()
        .find(|item| item.kind == kind)
        .unwrap_or_else(|| panic!("{kind} is in the palette"))
}

/// A canvas point at a world point, for the editor's current view.
fn screen(editor: &Editor, x: f64, y: f64) -> Point {
    editor.viewport().to_screen(Point::new(x, y))
}

/// The canvas point of a node's port.
fn port_at(editor: &Editor, node: &str, port: &str) -> Point {
    let view = editor
        .node_view(editor.node(node).expect("the node"))
        .expect("a view");
    let (_, point, _) = view
        .ports
        .iter()
        .find(|(name, _, _)| name == port)
        .expect("the port");
    editor.viewport().to_screen(*point)
}

fn middle_of(editor: &Editor, node: &str) -> Point {
    let view = editor
        .node_view(editor.node(node).expect("the node"))
        .expect("a view");
    screen(
        editor,
        view.rect.x + view.rect.width / 2.0,
        view.rect.y + NODE_HEIGHT / 2.0,
    )
}

fn drag(editor: &mut Editor, from: Point, to: Point) {
    editor
        .apply(Action::PointerDown {
            at: from,
            additive: false,
        })
        .expect("down");
    editor.apply(Action::PointerMove { at: to }).expect("move");
    editor.apply(Action::PointerUp { at: to }).expect("up");
}

/// start → play → menu → (1: queue, 2: hangup): the browser test's flow, drawn here with
/// the same gestures.
fn five_nodes() -> Editor {
    let mut editor = Editor::default();
    let at = |editor: &Editor, y: f64| screen(editor, 0.0, y);
    for (kind, y) in [("play", 120.0), ("menu", 240.0), ("queue", 400.0)] {
        let point = at(&editor, y);
        editor
            .apply(Action::AddNode {
                item: item(kind),
                at: point,
            })
            .expect("added");
    }
    let point = screen(&editor, 300.0, 400.0);
    editor
        .apply(Action::AddNode {
            item: item("hangup"),
            at: point,
        })
        .expect("added");
    for (node, port, target) in [
        ("start", "next", "play"),
        ("play", "next", "menu"),
        ("menu", "1", "queue"),
        ("menu", "2", "hangup"),
    ] {
        let from = port_at(&editor, node, port);
        let to = middle_of(&editor, target);
        drag(&mut editor, from, to);
    }
    editor
}

#[test]
fn nodes_are_added_where_dropped_snapped_with_fresh_ids() {
    let mut editor = Editor::default();
    let point = screen(&editor, 107.0, 233.0);
    editor
        .apply(Action::AddNode {
            item: item("menu"),
            at: point,
        })
        .expect("added");
    let again = screen(&editor, 400.0, 0.0);
    editor
        .apply(Action::AddNode {
            item: item("menu"),
            at: again,
        })
        .expect("added");
    let menu = editor.node("menu").expect("menu");
    let ui = menu.ui.as_ref().expect("placed");
    assert_eq!((ui.x, ui.y), (100.0, 240.0));
    assert!(editor.node("menu-2").is_some());
    // The same spot again: the new node goes below, not on top.
    editor
        .apply(Action::AddNode {
            item: item("play"),
            at: again,
        })
        .expect("added");
    let play = editor
        .node("play")
        .and_then(|n| n.ui.clone())
        .expect("placed");
    assert_eq!(play.x, 400.0);
    assert!(play.y >= NODE_HEIGHT, "{play:?}");
    assert_eq!(editor.selection().len(), 1);
    assert!(editor.selection().contains("play"));
}

#[test]
fn dragging_from_a_port_to_a_node_connects_them_and_validation_follows() {
    let editor = five_nodes();
    let doc = editor.document();
    let menu = editor.node("menu").expect("menu");
    assert_eq!(menu.ports.get("1").map(String::as_str), Some("queue"));
    assert_eq!(menu.ports.get("2").map(String::as_str), Some("hangup"));
    assert_eq!(doc.nodes.len(), 5);
    // The queue's own ports lead nowhere: warnings or errors name it, and nothing else is
    // wrong with the drawing.
    assert!(
        editor
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .all(|d| d.node_id.as_deref() == Some("queue")),
        "{:?}",
        editor.diagnostics()
    );
}

#[test]
fn an_error_shows_on_its_node_until_undone() {
    let mut editor = five_nodes();
    let errors_before = editor.error_count();
    editor
        .apply(Action::SetParams {
            node: "menu".into(),
            params: serde_json::json!({}),
        })
        .expect("set");
    assert!(editor.error_count() > errors_before);
    assert!(
        editor.compiled().is_none(),
        "a flow with errors does not compile"
    );
    let view = editor
        .node_view(editor.node("menu").expect("menu"))
        .expect("a view");
    assert!(view.errors > 0, "the error is on the node");
    editor.apply(Action::Undo).expect("undone");
    assert_eq!(editor.error_count(), errors_before);
}

#[test]
fn dropping_a_connection_on_empty_canvas_removes_it() {
    let mut editor = five_nodes();
    let from = port_at(&editor, "menu", "2");
    let nowhere = screen(&editor, 2000.0, 2000.0);
    drag(&mut editor, from, nowhere);
    assert!(!editor.node("menu").expect("menu").ports.contains_key("2"));
}

#[test]
fn moving_a_selection_snaps_and_is_one_undo_step() {
    let mut editor = five_nodes();
    let revision = editor.revision();
    let queue = middle_of(&editor, "queue");
    editor
        .apply(Action::PointerDown {
            at: queue,
            additive: false,
        })
        .expect("down");
    let hangup = middle_of(&editor, "hangup");
    editor
        .apply(Action::PointerDown {
            at: hangup,
            additive: true,
        })
        .expect("added to the selection");
    editor.apply(Action::PointerUp { at: hangup }).expect("up");
    assert_eq!(editor.selection().len(), 2);
    let from = middle_of(&editor, "queue");
    for step in 1..=5 {
        let at = Point::new(
            from.x + 13.0 * f64::from(step),
            from.y + 7.0 * f64::from(step),
        );
        if step == 1 {
            editor
                .apply(Action::PointerDown {
                    at: from,
                    additive: false,
                })
                .expect("down");
        }
        editor.apply(Action::PointerMove { at }).expect("move");
    }
    assert!(editor.dragging());
    editor
        .apply(Action::PointerUp {
            at: Point::new(from.x + 65.0, from.y + 35.0),
        })
        .expect("up");
    let ui = |id: &str| {
        let ui = editor.node(id).and_then(|n| n.ui.clone()).expect("placed");
        (ui.x, ui.y)
    };
    assert_eq!(ui("queue"), (60.0, 440.0));
    assert_eq!(ui("hangup"), (360.0, 440.0));
    assert!(ui("queue").0 % GRID == 0.0);
    assert_eq!(editor.revision(), revision + 1);
    editor.apply(Action::Undo).expect("undone");
    let ui = editor
        .node("queue")
        .and_then(|n| n.ui.clone())
        .expect("placed");
    assert_eq!((ui.x, ui.y), (0.0, 400.0));
    editor.apply(Action::Redo).expect("redone");
    assert_eq!(
        editor
            .node("hangup")
            .and_then(|n| n.ui.clone())
            .map(|u| u.x),
        Some(360.0)
    );
}

#[test]
fn dragging_the_canvas_pans_and_the_wheel_zooms() {
    let mut editor = five_nodes();
    let before = editor.viewport();
    let empty = screen(&editor, -500.0, -500.0);
    drag(
        &mut editor,
        empty,
        Point::new(empty.x + 30.0, empty.y - 10.0),
    );
    let after = editor.viewport();
    assert_eq!(after.pan.x - before.pan.x, 30.0);
    assert_eq!(after.pan.y - before.pan.y, -10.0);
    assert!(
        editor.selection().is_empty(),
        "clicking the canvas deselects"
    );
    editor
        .apply(Action::Wheel {
            at: Point::new(100.0, 100.0),
            delta: 200.0,
        })
        .expect("zoomed");
    assert!(editor.viewport().zoom < 1.0);
    editor
        .apply(Action::Fit {
            width: 1280.0,
            height: 800.0,
        })
        .expect("fitted");
    let bounds = editor.bounds().expect("nodes");
    let corner = editor.viewport().to_screen(Point::new(
        bounds.x + bounds.width,
        bounds.y + bounds.height,
    ));
    assert!(corner.x <= 1280.0 && corner.y <= 800.0);
}

#[test]
fn deleting_removes_nodes_and_connections_into_them_and_undo_restores_both() {
    let mut editor = five_nodes();
    editor
        .apply(Action::Select(Some("queue".into())))
        .expect("selected");
    editor.apply(Action::Delete).expect("deleted");
    assert!(editor.node("queue").is_none());
    assert!(!editor.node("menu").expect("menu").ports.contains_key("1"));
    editor.apply(Action::Undo).expect("undone");
    assert_eq!(
        editor.node("menu").and_then(|n| n.ports.get("1")),
        Some(&"queue".to_owned())
    );
}

#[test]
fn copy_paste_keeps_inner_connections_with_new_ids() {
    let mut editor = five_nodes();
    for id in ["menu", "queue"] {
        let point = middle_of(&editor, id);
        editor
            .apply(Action::PointerDown {
                at: point,
                additive: id == "queue",
            })
            .expect("selected");
        editor.apply(Action::PointerUp { at: point }).expect("up");
    }
    editor.apply(Action::Copy).expect("copied");
    editor.apply(Action::Paste).expect("pasted");
    let copy = editor.node("menu-copy").expect("the menu's copy");
    assert_eq!(copy.ports.get("1").map(String::as_str), Some("queue-copy"));
    assert!(
        !copy.ports.contains_key("2"),
        "outside connections are dropped"
    );
    assert_eq!(copy.ui.as_ref().map(|u| u.x), Some(40.0));
    editor.apply(Action::Paste).expect("pasted again");
    let again = editor.node("menu-copy-copy").expect("a second copy");
    assert_eq!(
        again.ports.get("1").map(String::as_str),
        Some("queue-copy-copy")
    );
    assert_eq!(editor.document().nodes.len(), 9);
}

#[test]
fn renaming_a_node_moves_connections_and_refuses_clashes() {
    let mut editor = five_nodes();
    assert!(matches!(
        editor.apply(Action::RenameNode {
            from: "queue".into(),
            to: "menu".into()
        }),
        Err(EditError::BadId(_))
    ));
    assert!(
        editor
            .apply(Action::RenameNode {
                from: "queue".into(),
                to: "sales queue".into()
            })
            .is_err()
    );
    editor
        .apply(Action::RenameNode {
            from: "queue".into(),
            to: "sales".into(),
        })
        .expect("renamed");
    assert_eq!(
        editor.node("menu").and_then(|n| n.ports.get("1")),
        Some(&"sales".to_owned())
    );
}

#[test]
fn parameter_edits_validate_live_and_one_nodes_edits_are_one_undo_step() {
    let mut editor = five_nodes();
    let errors = editor.error_count();
    let mut params = editor.node("menu").expect("menu").params.clone();
    params["options"]["3"] = Value::from("Billing");
    editor
        .apply(Action::SetParams {
            node: "menu".into(),
            params: params.clone(),
        })
        .expect("set");
    assert!(
        editor
            .ports_of(editor.node("menu").expect("menu"))
            .contains(&"3".to_owned())
    );
    params["prompt"] = Value::from(42);
    editor
        .apply(Action::SetParams {
            node: "menu".into(),
            params,
        })
        .expect("set");
    assert!(editor.error_count() > errors, "a bad prompt is an error");
    assert!(
        editor
            .diagnostics()
            .iter()
            .any(|d| d.node_id.as_deref() == Some("menu") && d.is_error())
    );
    editor.apply(Action::Undo).expect("undone");
    assert!(
        !editor.node("menu").expect("menu").params["options"]
            .as_object()
            .expect("options")
            .contains_key("3")
    );
    assert!(matches!(
        editor.apply(Action::SetParams {
            node: "nope".into(),
            params: Value::Null
        }),
        Err(EditError::NoSuchNode(_))
    ));
}

#[test]
fn undo_with_nothing_to_undo_says_so() {
    let mut editor = Editor::default();
    assert_eq!(
        editor.apply(Action::Undo),
        Err(EditError::NothingTo("undo"))
    );
}

#[test]
fn hit_testing_finds_ports_before_bodies() {
    let editor = five_nodes();
    let port = port_at(&editor, "menu", "1");
    assert_eq!(editor.hit(port), Hit::Port("menu".into(), "1".into()));
    let body = middle_of(&editor, "menu");
    assert_eq!(editor.hit(body), Hit::Node("menu".into()));
    assert_eq!(editor.hit(screen(&editor, -900.0, 0.0)), Hit::Canvas);
}

#[test]
fn every_example_flow_opens_and_a_500_node_flow_validates() {
    for text in [
        include_str!("../../../flows/reception.json"),
        include_str!("../../../flows/cpf-check.json"),
        include_str!("../../../flows/survey.json"),
        include_str!("../../../flows/campaign-answer.json"),
    ] {
        let doc = FlowDocument::from_json(text).expect("a document");
        let editor = Editor::new(doc);
        assert_eq!(editor.node_views().len(), editor.document().nodes.len());
    }
    let big = crate::model::big_flow(500);
    let editor = Editor::new(big);
    assert_eq!(editor.node_views().len(), 500);
    assert_eq!(editor.error_count(), 0, "{:?}", editor.diagnostics());
}
