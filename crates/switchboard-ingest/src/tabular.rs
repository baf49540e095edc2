//! CSV FAQ files: `question,answer` rows, with or without a header, become FAQ pairs.

use crate::limits::{Halt, Sink};
use crate::{ExtractError, Format};

/// Reads FAQ pairs. A header row is recognised by its names (`question`/`answer`, `q`/`a`, in any
/// column order); without one, the first two columns are taken. Rows without both a question and
/// an answer are skipped and counted in a warning rather than failing the whole file.
pub(crate) fn extract_faq(text: &str, sink: &mut Sink) -> Result<(), Halt> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut columns = (0, 1);
    let mut skipped = Vec::new();
    for (index, record) in reader.records().enumerate() {
        sink.tick()?;
        let record = record.map_err(|e| ExtractError::corrupt(Format::Csv, e))?;
        if index == 0
            && let Some(found) = header_columns(&record)
        {
            columns = found;
            continue;
        }
        let question = record.get(columns.0).unwrap_or("").trim();
        let answer = record.get(columns.1).unwrap_or("").trim();
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if question.is_empty() || answer.is_empty() {
            skipped.push(index + 1);
            continue;
        }
        sink.faq(question, answer)?;
    }
    if !skipped.is_empty() {
        let shown: Vec<String> = skipped.iter().take(10).map(|n| n.to_string()).collect();
        let more = if skipped.len() > 10 { ", ..." } else { "" };
        sink.warnings.push(format!(
            "{} row(s) without both a question and an answer were skipped (rows {}{more})",
            skipped.len(),
            shown.join(", ")
        ));
    }
    Ok(())
}

/// Column indexes of `question` and `answer` when `record` is a header row.
fn header_columns(record: &csv::StringRecord) -> Option<(usize, usize)> {
    let find = |names: &[&str]| {
        record.iter().position(|f| {
            let f = f.trim().trim_start_matches('\u{feff}').to_lowercase();
            names.contains(&f.as_str())
        })
    };
    Some((find(&["question", "questions", "q"])?, find(&["answer", "answers", "a"])?))
}

/// Spreadsheets in much of Europe export `;`-separated "CSV", and FAQ answers are full of commas,
/// so pick the separator that appears the same number of times on each of the first lines
/// (ties go to the one used most, then to the comma).
fn sniff_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(5).collect();
    let score = |c: char| {
        let counts: Vec<usize> = lines.iter().map(|l| l.matches(c).count()).collect();
        let consistent = counts.iter().all(|&n| n == counts[0]);
        (if consistent { counts.first().copied().unwrap_or(0).min(1) } else { 0 }, counts.iter().sum::<usize>())
    };
    [(b',', ','), (b';', ';'), (b'\t', '\t')]
        .into_iter()
        .max_by_key(|&(delimiter, c)| (score(c), delimiter == b','))
        .map_or(b',', |(delimiter, _)| delimiter)
}
