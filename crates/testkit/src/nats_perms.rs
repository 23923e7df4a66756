//! The repository's reference NATS permissions (`deploy/nats`): `NODE` in
//! `permissions.conf`, and the per-client and per-tenant blocks rendered from
//! `client.conf.template` and `tenant.conf.template` exactly as
//! `deploy/nats/README.md` tells an operator to. Tests thereby run the shipped roles.

use std::path::PathBuf;

use crate::TestkitError;

/// `deploy/nats` of this repository.
pub fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/nats")
        .components()
        .collect()
}

/// The text of `deploy/nats/<file>`.
pub fn read(file: &str) -> Result<String, TestkitError> {
    Ok(std::fs::read_to_string(deploy_dir().join(file))?)
}

/// `@CONSUMER_SUFFIX@`: `_` and the client id with `-`, `:`, `.` and spaces
/// turned into `_` (as mpcium's clients and Tessera's SDK name consumers), or
/// nothing for a client without a client id.
pub fn consumer_suffix(client_id: Option<&str>) -> String {
    client_id
        .map(|c| {
            let token: String = c
                .chars()
                .map(|c| {
                    if matches!(c, '-' | ':' | '.' | ' ') {
                        '_'
                    } else {
                        c
                    }
                })
                .collect();
            format!("_{token}")
        })
        .unwrap_or_default()
}

/// `@SUBJECT_SCOPE@`: `.` and the client id as it is (result subjects keep
/// it), or nothing for a client without a client id.
pub fn subject_scope(client_id: Option<&str>) -> String {
    client_id.map(|c| format!(".{c}")).unwrap_or_default()
}

/// The result consumers a client with `client_id` reads (keygen, signing, reshare).
pub fn client_consumer_names(client_id: Option<&str>) -> [String; 3] {
    let suffix = consumer_suffix(client_id);
    ["keygen", "signing", "reshare"].map(|kind| format!("mpc_{kind}_result{suffix}"))
}

/// The block `CLIENT_<name>` of a client with `client_id`, from `template`
/// (the text of `client.conf.template`).
pub fn client_block(
    template: &str,
    name: &str,
    client_id: Option<&str>,
) -> Result<String, TestkitError> {
    render(
        template,
        "CLIENT_@NAME@ = {",
        &[
            ("@NAME@", name.to_string()),
            ("@CONSUMER_SUFFIX@", consumer_suffix(client_id)),
            ("@SUBJECT_SCOPE@", subject_scope(client_id)),
        ],
    )
}

/// The block `TENANT_<name>` of the device whose node id is `tenant_id`, from
/// `template` (the text of `tenant.conf.template`).
pub fn tenant_block(template: &str, name: &str, tenant_id: &str) -> Result<String, TestkitError> {
    render(
        template,
        "TENANT_@NAME@ = {",
        &[
            ("@NAME@", name.to_string()),
            ("@TENANT_ID@", tenant_id.to_string()),
        ],
    )
}

/// The block of `template` that opens on the line `head` (its comments before
/// it left out), every placeholder replaced; one left over is an error.
fn render(template: &str, head: &str, values: &[(&str, String)]) -> Result<String, TestkitError> {
    let bad = |what: String| TestkitError::Io(std::io::Error::other(what));
    let lines: Vec<&str> = template
        .lines()
        .skip_while(|l| l.trim_end() != head)
        .collect();
    if lines.is_empty() {
        return Err(bad(format!("template has no `{head}` line")));
    }
    let end = block_end(&lines).ok_or_else(|| bad(format!("`{head}` is not closed")))?;
    let mut block = lines[..=end].join("\n") + "\n";
    for (placeholder, value) in values {
        block = block.replace(placeholder, value);
    }
    if let Some(left) = placeholder_in(&block) {
        return Err(bad(format!("placeholder {left} left in template")));
    }
    Ok(block)
}

/// The first `@UPPER_CASE@` in `text`.
fn placeholder_in(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let tail = &rest[at + 1..];
        let len = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(tail.len());
        if len > 0 && tail[len..].starts_with('@') {
            return Some(&rest[at..at + len + 2]);
        }
        rest = tail;
    }
    None
}

/// The block in a server configuration `conf` that opens on the line `head`,
/// as it is (for comparing the example configuration with rendered blocks).
pub fn block_of(conf: &str, head: &str) -> Option<String> {
    let lines: Vec<&str> = conf.lines().skip_while(|l| l.trim_end() != head).collect();
    let end = block_end(&lines)?;
    Some(lines[..=end].join("\n") + "\n")
}

/// The index of the line closing the block opened on `lines[0]`. Braces in
/// comments and quoted strings do not count.
fn block_end(lines: &[&str]) -> Option<usize> {
    let mut depth = 0i32;
    for (i, line) in lines.iter().enumerate() {
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '#' if !quoted => break,
                '{' if !quoted => depth += 1,
                '}' if !quoted => depth -= 1,
                _ => {}
            }
        }
        if depth == 0 {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_block_names_only_its_own_consumers() {
        let template = read("client.conf.template").unwrap();
        let block = client_block(&template, "APP", Some("app-1")).unwrap();
        assert!(block.starts_with("CLIENT_APP = {\n"), "{block}");
        assert!(block.trim_end().ends_with('}'), "{block}");
        assert!(block.contains("\"$JS.API.CONSUMER.MSG.NEXT.mpc.mpc_signing_result_app_1\""));
        assert!(block.contains(
            "\"$JS.API.CONSUMER.CREATE.mpc.mpc_keygen_result_app_1.mpc.mpc_keygen_result.app-1.*\""
        ));
        assert!(block.contains("\"$JS.ACK.mpc.mpc_reshare_result_app_1.>\""));
        assert!(block.contains("\"mpc.keygen_request.*\""));
        // Reshare: the durable entry, mpcium's core NATS subject, the stream.
        for subject in [
            "mpc.reshare_request.*",
            "mpc:reshare",
            "$JS.API.STREAM.INFO.mpc-reshare",
            "$JS.API.STREAM.CREATE.mpc-reshare",
            "$JS.API.CONSUMER.CREATE.mpc.mpc_reshare_result_app_1.mpc.mpc_reshare_result.app-1.*",
            "$JS.API.CONSUMER.MSG.NEXT.mpc-reshare.>",
            "$JS.ACK.mpc-reshare.>",
        ] {
            assert!(block.contains(&format!("\"{subject}\"")), "{subject}");
        }
        assert!(
            !block.contains("# Make one copy"),
            "header comments left out"
        );
    }

    #[test]
    fn a_client_without_id_uses_mpciums_plain_names() {
        let template = read("client.conf.template").unwrap();
        let block = client_block(&template, "LEGACY", None).unwrap();
        assert!(block.contains("\"$JS.API.CONSUMER.INFO.mpc.mpc_keygen_result\""));
        assert!(block.contains(
            "\"$JS.API.CONSUMER.CREATE.mpc.mpc_signing_result.mpc.mpc_signing_result.complete\""
        ));
        assert_eq!(
            client_consumer_names(None),
            [
                "mpc_keygen_result",
                "mpc_signing_result",
                "mpc_reshare_result"
            ]
        );
    }

    #[test]
    fn nodes_take_reshare_requests_in_their_queue_group() {
        let conf = read("permissions.conf").unwrap();
        let node = block_of(&conf, "NODE = {").expect("NODE block");
        for line in [
            "\"mpc.reshare_request.*\"",
            "\"mpc:reshare tessera_reshare\"",
            "\"$JS.API.STREAM.CREATE.mpc-reshare\"",
            "\"$JS.API.CONSUMER.CREATE.mpc-reshare.mpc_reshare_request\"",
            "\"$JS.API.CONSUMER.MSG.NEXT.mpc-reshare.mpc_reshare_request\"",
            "\"$JS.ACK.mpc-reshare.mpc_reshare_request.>\"",
        ] {
            assert!(node.contains(line), "{line}");
        }
        // Subscribing to mpc:reshare is allowed in the queue group only.
        let subscribe = &node[node.find("subscribe:").unwrap()..];
        assert!(!subscribe.contains("\"mpc:reshare\""), "{subscribe}");
    }

    #[test]
    fn a_tenant_block_names_its_own_inboxes() {
        let template = read("tenant.conf.template").unwrap();
        let block = tenant_block(&template, "D7", "device-7").unwrap();
        assert!(block.starts_with("TENANT_D7 = {\n"), "{block}");
        assert!(block.contains("\"tessera.node.device-7.control\""));
        assert!(block.contains("\"tessera.session.*.p2p.*.device-7\""));
        assert!(block.contains("\"tessera.session.*.p2p.device-7.*\""));
    }

    #[test]
    fn a_missing_head_or_placeholder_value_is_an_error() {
        assert_eq!(placeholder_in("a@b.c @X_Y@ z"), Some("@X_Y@"));
        assert_eq!(placeholder_in("user@host @@"), None);
        assert!(client_block("NODE = {\n}\n", "X", None).is_err());
        assert!(tenant_block("TENANT_@NAME@ = {\n  \"@OTHER@\"\n}\n", "X", "d").is_err());
        let closed = "R = {\n  a: { b: \"}\" } # }\n}\nS = {\n}\n";
        assert_eq!(
            block_of(closed, "R = {").unwrap(),
            "R = {\n  a: { b: \"}\" } # }\n}\n"
        );
    }
}
