//! The weekly grid: a `time-range` node's `weekly` windows (`{"mon": ["08:00-18:00"], …}`)
//! as 7 days × 48 half hours a supervisor clicks on, and back. Windows that do not fall on
//! half hours cannot be shown as cells; the grid then says so and the JSON stays editable.

use serde_json::{Map, Value};

/// Day keys, Monday first, as the document writes them.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Half hours in a day.
pub const SLOTS: usize = 48;

/// Open half hours, per day.
pub type Grid = [[bool; SLOTS]; 7];

fn slot_of(time: &str) -> Option<usize> {
    let (hours, minutes) = time.trim().split_once(':')?;
    let (hours, minutes): (usize, usize) = (hours.parse().ok()?, minutes.parse().ok()?);
    if minutes % 30 != 0 || hours * 60 + minutes > 24 * 60 {
        return None;
    }
    Some(hours * 2 + minutes / 30)
}

fn time_of(slot: usize) -> String {
    format!("{:02}:{:02}", slot / 2, (slot % 2) * 30)
}

/// The grid of a `weekly` value; `Err` names a window that is not on half hours.
pub fn grid_of(weekly: &Value) -> Result<Grid, String> {
    let mut grid = [[false; SLOTS]; 7];
    for (day, open) in DAYS.iter().zip(grid.iter_mut()) {
        let windows = weekly.get(*day).and_then(Value::as_array);
        for window in windows.into_iter().flatten() {
            let text = window.as_str().unwrap_or_default();
            let bounds = text
                .split_once('-')
                .and_then(|(from, to)| Some((slot_of(from)?, slot_of(to)?)));
            match bounds {
                Some((from, to)) if from < to => open[from..to].fill(true),
                _ => return Err(format!("{day}: `{text}` is not on half hours")),
            }
        }
    }
    Ok(grid)
}

/// The `weekly` value of a grid: each run of open half hours one window; closed days left
/// out.
pub fn weekly_of(grid: &Grid) -> Value {
    let mut weekly = Map::new();
    for (day, open) in DAYS.iter().zip(grid.iter()) {
        let mut windows = Vec::new();
        let mut start = None;
        // One closed slot past the end closes the last run.
        for (slot, is_open) in open.iter().copied().chain([false]).enumerate() {
            match (is_open, start) {
                (true, None) => start = Some(slot),
                (false, Some(from)) => {
                    windows.push(Value::from(format!("{}-{}", time_of(from), time_of(slot))));
                    start = None;
                }
                _ => {}
            }
        }
        if !windows.is_empty() {
            weekly.insert((*day).to_owned(), Value::Array(windows));
        }
    }
    Value::Object(weekly)
}

/// The grid with one cell flipped.
pub fn toggled(grid: &Grid, day: usize, slot: usize) -> Grid {
    let mut next = *grid;
    if let Some(cell) = next.get_mut(day).and_then(|d| d.get_mut(slot)) {
        *cell = !*cell;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn windows_become_cells_and_cells_become_the_same_windows() {
        let weekly = json!({ "mon": ["08:00-12:00", "13:30-18:00"], "sat": ["09:00-13:00"], "sun": ["00:00-24:00"] });
        let grid = grid_of(&weekly).expect("on half hours");
        assert!(grid[0][16] && grid[0][23] && !grid[0][24] && grid[0][27]);
        assert!(grid[6].iter().all(|open| *open));
        assert!(!grid[1].iter().any(|open| *open));
        assert_eq!(weekly_of(&grid), weekly);
    }

    #[test]
    fn toggling_merges_and_splits_windows() {
        let grid = grid_of(&json!({ "tue": ["08:00-09:00", "09:30-10:00"] })).expect("grid");
        let joined = toggled(&grid, 1, 18);
        assert_eq!(weekly_of(&joined), json!({ "tue": ["08:00-10:00"] }));
        let split = toggled(&joined, 1, 16);
        assert_eq!(weekly_of(&split), json!({ "tue": ["08:30-10:00"] }));
    }

    #[test]
    fn windows_off_the_half_hour_are_refused_by_name() {
        let error = grid_of(&json!({ "wed": ["08:15-18:00"] })).expect_err("not on half hours");
        assert!(error.contains("wed") && error.contains("08:15"), "{error}");
        assert!(grid_of(&json!({ "wed": ["18:00-08:00"] })).is_err());
    }
}
