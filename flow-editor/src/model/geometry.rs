//! Where things are on the canvas: points, the viewport (pan and zoom), node boxes and
//! their ports, snapping, hit testing. World coordinates are the document's `ui.x/ui.y`
//! (a node's top-left corner); screen coordinates are pixels inside the canvas element.

use ramal_flow::document::NodeDocument;

/// The grid nodes snap to, in world units.
pub const GRID: f64 = 20.0;
/// A node's height.
pub const NODE_HEIGHT: f64 = 56.0;
/// A node's narrowest width.
pub const NODE_MIN_WIDTH: f64 = 180.0;
/// Horizontal room for each output port.
pub const PORT_PITCH: f64 = 52.0;
/// How close (world units) the pointer must be to a port to grab it.
pub const PORT_GRAB_RADIUS: f64 = 9.0;
/// Zoom limits.
pub const MIN_ZOOM: f64 = 0.05;
/// Zoom limits.
pub const MAX_ZOOM: f64 = 4.0;

/// A point, in world or screen units depending on where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Horizontal.
    pub x: f64,
    /// Vertical, growing downwards.
    pub y: f64,
}

impl Point {
    /// A point.
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
}

/// An axis-aligned rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Rect {
    /// Does the rectangle contain `point` (edges included)?
    pub fn contains(&self, point: Point) -> bool {
        point.x >= self.x
            && point.x <= self.x + self.width
            && point.y >= self.y
            && point.y <= self.y + self.height
    }
    /// The smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect {
            x,
            y,
            width: (self.x + self.width).max(other.x + other.width) - x,
            height: (self.y + self.height).max(other.y + other.height) - y,
        }
    }
}

/// The view onto the world: `screen = world × zoom + pan`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    /// Screen position of the world origin.
    pub pan: Point,
    /// Screen pixels per world unit.
    pub zoom: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            pan: Point::new(40.0, 40.0),
            zoom: 1.0,
        }
    }
}

impl Viewport {
    /// The world point under a screen point.
    pub fn to_world(&self, screen: Point) -> Point {
        Point::new(
            (screen.x - self.pan.x) / self.zoom,
            (screen.y - self.pan.y) / self.zoom,
        )
    }
    /// The screen point of a world point.
    pub fn to_screen(&self, world: Point) -> Point {
        Point::new(
            world.x * self.zoom + self.pan.x,
            world.y * self.zoom + self.pan.y,
        )
    }
    /// Zooms by `factor`, keeping the world point under `screen` where it is.
    pub fn zoom_around(&mut self, screen: Point, factor: f64) {
        let anchor = self.to_world(screen);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        self.pan = Point::new(
            screen.x - anchor.x * self.zoom,
            screen.y - anchor.y * self.zoom,
        );
    }
    /// The view that shows all of `bounds` in a `width × height` canvas with a margin,
    /// never magnifying beyond 1.5×.
    pub fn fitting(bounds: Rect, width: f64, height: f64) -> Viewport {
        const MARGIN: f64 = 40.0;
        let usable_w = (width - 2.0 * MARGIN).max(1.0);
        let usable_h = (height - 2.0 * MARGIN).max(1.0);
        let zoom = (usable_w / bounds.width.max(1.0))
            .min(usable_h / bounds.height.max(1.0))
            .clamp(MIN_ZOOM, 1.5);
        let pan = Point::new(
            width / 2.0 - (bounds.x + bounds.width / 2.0) * zoom,
            height / 2.0 - (bounds.y + bounds.height / 2.0) * zoom,
        );
        Viewport { pan, zoom }
    }
}

/// Rounds a world coordinate to the grid.
pub fn snap(value: f64) -> f64 {
    (value / GRID).round() * GRID
}

/// A node's position (its top-left corner); nodes without `ui` sit at the origin.
pub fn position(node: &NodeDocument) -> Point {
    node.ui
        .as_ref()
        .map_or(Point::default(), |ui| Point::new(ui.x, ui.y))
}

/// A node's width: wide enough for its output ports.
pub fn node_width(port_count: usize) -> f64 {
    NODE_MIN_WIDTH.max(port_count as f64 * PORT_PITCH + 16.0)
}

/// A node's box, given how many output ports it has.
pub fn node_rect(node: &NodeDocument, port_count: usize) -> Rect {
    let at = position(node);
    Rect {
        x: at.x,
        y: at.y,
        width: node_width(port_count),
        height: NODE_HEIGHT,
    }
}

/// Where output port `index` of `count` sits: spread along the node's bottom edge.
pub fn port_point(rect: &Rect, index: usize, count: usize) -> Point {
    let pitch = rect.width / count.max(1) as f64;
    Point::new(rect.x + pitch * (index as f64 + 0.5), rect.y + rect.height)
}

/// Where connections arrive: the middle of the node's top edge.
pub fn input_point(rect: &Rect) -> Point {
    Point::new(rect.x + rect.width / 2.0, rect.y)
}

/// Distance between two points.
pub fn distance(a: Point, b: Point) -> f64 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_and_world_are_inverse() {
        let view = Viewport {
            pan: Point::new(13.0, -7.0),
            zoom: 0.5,
        };
        let world = Point::new(100.0, 40.0);
        let back = view.to_world(view.to_screen(world));
        assert!((back.x - world.x).abs() < 1e-9 && (back.y - world.y).abs() < 1e-9);
    }

    #[test]
    fn zooming_keeps_the_point_under_the_pointer() {
        let mut view = Viewport::default();
        let pointer = Point::new(300.0, 200.0);
        let before = view.to_world(pointer);
        view.zoom_around(pointer, 1.7);
        let after = view.to_world(pointer);
        assert!((before.x - after.x).abs() < 1e-9 && (before.y - after.y).abs() < 1e-9);
        assert!((view.zoom - 1.7).abs() < 1e-9);
        view.zoom_around(pointer, 1000.0);
        assert_eq!(view.zoom, MAX_ZOOM);
    }

    #[test]
    fn fitting_shows_the_whole_bounds() {
        let bounds = Rect {
            x: -300.0,
            y: 0.0,
            width: 2000.0,
            height: 900.0,
        };
        let view = Viewport::fitting(bounds, 1000.0, 600.0);
        let top_left = view.to_screen(Point::new(bounds.x, bounds.y));
        let bottom_right = view.to_screen(Point::new(
            bounds.x + bounds.width,
            bounds.y + bounds.height,
        ));
        assert!(top_left.x >= 39.9 && top_left.y >= 39.9, "{top_left:?}");
        assert!(
            bottom_right.x <= 960.1 && bottom_right.y <= 560.1,
            "{bottom_right:?}"
        );
    }

    #[test]
    fn snapping_rounds_to_the_grid() {
        assert_eq!(snap(29.0), 20.0);
        assert_eq!(snap(31.0), 40.0);
        assert_eq!(snap(-11.0), -20.0);
    }

    #[test]
    fn ports_spread_along_the_bottom() {
        let rect = Rect {
            x: 0.0,
            y: 0.0,
            width: 200.0,
            height: NODE_HEIGHT,
        };
        assert_eq!(port_point(&rect, 0, 2), Point::new(50.0, NODE_HEIGHT));
        assert_eq!(port_point(&rect, 1, 2), Point::new(150.0, NODE_HEIGHT));
        assert_eq!(node_width(1), NODE_MIN_WIDTH);
        assert!(node_width(12) > NODE_MIN_WIDTH);
    }
}
