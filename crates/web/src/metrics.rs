//! placeholder
use axum::extract::State;
use crate::App;
pub(crate) async fn scrape(State(_app): State<App>) -> String { String::new() }
