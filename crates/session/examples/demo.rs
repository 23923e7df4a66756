//! `make run` (until the node cluster exists): an in-memory 2-of-3 wallet for
//! both curves, signed by two of the three parties, each signature checked by
//! an independent library. Also signs under a derivation path.

use std::collections::BTreeMap;

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256};
use tessera_session::derive::{ed25519, secp256k1::ExtendedPublicKey, DerivationPath};
use tessera_session::ecdsa::{EcdsaKeygen, EcdsaSign};
use tessera_session::eddsa::{EddsaKeygen, EddsaSign};
use tessera_session::simulator::{run, sessions, Faults};
use tessera_types::{NodeId, SessionConfig, SessionId, Threshold};

fn cfg(sid: &str, players: &[NodeId]) -> SessionConfig {
    SessionConfig::new(SessionId::new(sid).unwrap(), players.to_vec(), Threshold(1)).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> Result<(), String> {
    let nodes: Vec<NodeId> = (0..3)
        .map(|i| NodeId::new(format!("node{i}")).unwrap())
        .collect();
    let signers = &nodes[..2];
    let names = signers
        .iter()
        .map(NodeId::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    println!("Tessera in-memory demo: 2-of-3 wallet (threshold t=1: any 2 of 3 sign)\n");

    let c = cfg("demo-keygen-ecdsa", &nodes);
    let ecdsa: BTreeMap<_, _> = run(
        sessions(&c, |me| EcdsaKeygen::new(c.clone(), me.clone())).unwrap(),
        &Faults::default(),
    )
    .into_outputs()?;
    let c = cfg("demo-keygen-eddsa", &nodes);
    let eddsa: BTreeMap<_, _> = run(
        sessions(&c, |me| EddsaKeygen::new(c.clone(), me.clone())).unwrap(),
        &Faults::default(),
    )
    .into_outputs()?;
    let epk = ecdsa[&nodes[0]].info.public_key.clone();
    let dpk = eddsa[&nodes[0]].public_key();
    println!("ECDSA secp256k1 public key: {}", hex(&epk));
    println!("EdDSA ed25519   public key: {}\n", hex(&dpk));

    let digest: [u8; 32] = Sha256::digest(b"pay 1 BTC to Alice").into();
    let c = cfg("demo-sign-ecdsa", signers);
    let sigs = run(
        sessions(&c, |me| {
            EcdsaSign::new(&c, ecdsa[me].clone(), &digest, &DerivationPath::root())
        })
        .unwrap(),
        &Faults::default(),
    )
    .into_outputs()?;
    let sig = &sigs[&nodes[0]];
    let vk = k256::ecdsa::VerifyingKey::from_sec1_bytes(&epk).map_err(|e| e.to_string())?;
    let ksig = k256::ecdsa::Signature::from_scalars(sig.r, sig.s).map_err(|e| e.to_string())?;
    let ok = vk.verify_prehash(&digest, &ksig).is_ok();
    println!("ECDSA signature by [{names}] over sha256(\"pay 1 BTC to Alice\"):");
    println!(
        "  r = {}\n  s = {}\n  recovery id = {}",
        hex(&sig.r),
        hex(&sig.s),
        sig.recovery_id
    );
    println!(
        "  k256 verification: {}\n",
        if ok { "VALID" } else { "INVALID" }
    );

    let message = b"\x00hello from tessera";
    let c = cfg("demo-sign-eddsa", signers);
    let sigs = run(
        sessions(&c, |me| {
            EddsaSign::new(&c, &eddsa[me], message, &DerivationPath::root())
        })
        .unwrap(),
        &Faults::default(),
    )
    .into_outputs()?;
    let sig = &sigs[&nodes[0]];
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&dpk).map_err(|e| e.to_string())?;
    let ok2 = vk
        .verify_strict(
            message,
            &ed25519_dalek::Signature::from_bytes(&sig.signature),
        )
        .is_ok();
    println!(
        "EdDSA signature by [{names}] over {:?}:",
        String::from_utf8_lossy(message)
    );
    println!("  {}", hex(&sig.signature));
    println!(
        "  ed25519-dalek verify_strict: {}\n",
        if ok2 { "VALID" } else { "INVALID" }
    );

    let path = DerivationPath::new(vec![44, 60, 0, 0, 7]);
    let info = &ecdsa[&nodes[0]].info;
    let child =
        ExtendedPublicKey::new(&info.public_key, info.chain_code).map_err(|e| e.to_string())?;
    let child = child.derive(path.indices()).map_err(|e| e.to_string())?;
    let c = cfg("demo-sign-child", &nodes[1..]);
    let sigs = run(
        sessions(&c, |me| {
            EcdsaSign::new(&c, ecdsa[me].clone(), &digest, &path)
        })
        .unwrap(),
        &Faults::default(),
    )
    .into_outputs()?;
    let ok3 = sigs.values().all(|s| s.public_key == child.public_key);
    println!(
        "Child key m/44/60/0/0/7 (derived offline from public data): {}",
        hex(&child.public_key)
    );
    println!(
        "  signed by [node1, node2]; signature under the child key: {}",
        if ok3 { "VALID" } else { "INVALID" }
    );
    let echild = ed25519::derive(&dpk, path.indices()).map_err(|e| e.to_string())?;
    println!(
        "Ed25519 child key for the same path: {}",
        hex(&echild.public_key)
    );

    if ok && ok2 && ok3 {
        Ok(())
    } else {
        Err("a signature did not verify".into())
    }
}
