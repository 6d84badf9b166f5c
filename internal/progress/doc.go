// Package progress draws a progress bar for a long copy or verify on the
// bottom line of a terminal, under the log.
//
// A Bar is the log's writer as well as the bar: before a log line goes
// out it clears the bar's line, and after it draws the bar again, so the
// two never mix. It redraws at most every 100 ms. The CLI uses it only when
// stderr is a terminal; elsewhere the copy and the verify log their
// progress as plain lines every replication.progress_interval.
package progress
