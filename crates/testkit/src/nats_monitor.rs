//! Reading a nats-server's monitoring endpoint (plain HTTP on loopback):
//! JetStream's meta leader and which server leads each stream.

use std::time::Duration;

use serde_json::Value;

/// `GET http://127.0.0.1:<port>/<path>` as JSON; `None` on any failure.
pub(crate) async fn get_json(port: u16, path: &str) -> Option<Value> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .ok()?;
    let resp = client
        .get(format!("http://127.0.0.1:{port}/{path}"))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    serde_json::from_str(&resp.text().await.ok()?).ok()
}

/// The monitoring path listing every account's streams and their leaders.
pub(crate) const STREAMS_JSZ: &str = "jsz?accounts=true&streams=true&consumers=false&config=false";

fn streams_in(jsz: &Value) -> impl Iterator<Item = &Value> {
    jsz["account_details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|acc| acc["stream_detail"].as_array())
        .flatten()
}

fn leader_of(stream: &Value) -> Option<&str> {
    stream["cluster"]["leader"]
        .as_str()
        .filter(|l| !l.is_empty())
}

/// The leader of `stream` in a [`STREAMS_JSZ`] answer.
pub(crate) fn stream_leader_in<'a>(jsz: &'a Value, stream: &str) -> Option<&'a str> {
    streams_in(jsz)
        .find(|s| s["name"].as_str() == Some(stream))
        .and_then(leader_of)
}

/// The leader (if any) of every replicated stream in a [`STREAMS_JSZ`] answer.
pub(crate) fn stream_leaders_in(jsz: &Value) -> Vec<Option<&str>> {
    streams_in(jsz)
        .filter(|s| s["cluster"].is_object())
        .map(leader_of)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_streams_leader_in_jsz() {
        let jsz: Value = serde_json::from_str(
            r#"{"account_details":[{"name":"$G","stream_detail":[
                {"name":"other","cluster":{"leader":"s0"}},
                {"name":"orders","cluster":{"name":"c","leader":"s2"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(stream_leader_in(&jsz, "orders"), Some("s2"));
        assert_eq!(stream_leader_in(&jsz, "missing"), None);
        let electing: Value = serde_json::from_str(
            r#"{"account_details":[{"stream_detail":[
                {"name":"a","cluster":{"leader":"s0"}},
                {"name":"b","cluster":{"name":"c"}},
                {"name":"single"}]}]}"#,
        )
        .unwrap();
        assert_eq!(stream_leaders_in(&electing), vec![Some("s0"), None]);
    }
}
