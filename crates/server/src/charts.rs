//! Horizontal bar charts drawn as SVG by the templates: the geometry is computed here,
//! the markup is in `templates/chart.html`.

/// One bar.
pub struct Bar {
    /// Its label, shortened to fit.
    pub label: String,
    /// Its whole label (shown on hover).
    pub title: String,
    /// Its value.
    pub value: i64,
    /// Top edge, in SVG units.
    pub y: u32,
    /// Length, in SVG units.
    pub width: u32,
}

/// A chart ready to draw.
pub struct BarChart {
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// The SVG's height.
    pub height: u32,
}

/// Bar height plus gap, in SVG units.
const ROW: u32 = 24;
/// The longest bar, in SVG units.
const LENGTH: u32 = 300;

/// A chart of `(label, value)` rows.
pub fn bar_chart(rows: Vec<(String, i64)>) -> BarChart {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let bars: Vec<Bar> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, value))| Bar {
            label: shorten(&label),
            title: label,
            value,
            y: i as u32 * ROW,
            width: ((value.max(0) as u64 * u64::from(LENGTH)) / max as u64).max(2) as u32,
        })
        .collect();
    BarChart {
        height: (bars.len() as u32 * ROW).max(ROW),
        bars,
    }
}

/// The longest label drawn, in characters.
const LABEL_CHARS: usize = 30;

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut short: String = label.chars().take(LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_bar_is_full_length() {
        let chart = bar_chart(vec![("a".into(), 4), ("b".into(), 2)]);
        assert_eq!(chart.bars[0].width, LENGTH);
        assert_eq!(chart.bars[1].width, LENGTH / 2);
        assert_eq!(chart.bars[1].y, ROW);
        assert_eq!(bar_chart(Vec::new()).height, ROW);
        let long = bar_chart(vec![("x".repeat(40), 1)]);
        assert_eq!(long.bars[0].label.chars().count(), LABEL_CHARS);
        assert_eq!(long.bars[0].title.len(), 40);
    }
}
