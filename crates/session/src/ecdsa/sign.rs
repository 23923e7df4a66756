//! DKLs23 signing by exactly `t + 1` participants, as three Tessera rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | p2p | `sign_phase1` |
//! | 1 | p2p | `sign_phase2` |
//! | 2 | broadcast | `sign_phase3` |
//! | end | | `sign_phase4` (after the echo round), then independent verification |
//!
//! The signature is low-s with a recovery id, and is verified with `k256`
//! against the (child) public key before it is returned.

use std::collections::BTreeMap;

use dkls23::protocols::signing::{
    Broadcast3to4, KeepPhase1to2, KeepPhase2to3, SignData, TransmitPhase1to2, TransmitPhase2to3,
    UniqueKeep1to2, UniqueKeep2to3,
};
use dkls23::protocols::PartyIndex;
use dkls23::utilities::hashes::point_to_bytes;
use tessera_types::{NodeId, SessionConfig};

use super::{dkls_id, fault, Curve, EcdsaKeyShare};
use crate::codec::{decode, encode, take};
use crate::derive::DerivationPath;
use crate::error::Abort;
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::verify::verify_ecdsa;

/// A finished ECDSA signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdsaSignature {
    pub r: [u8; 32],
    /// Low-s form.
    pub s: [u8; 32],
    /// 0 or 1: parity of R's y coordinate (plus 2 if R.x overflowed, never in practice).
    pub recovery_id: u8,
    /// The key it verifies under (the child key when a path was given), SEC1 compressed.
    pub public_key: Vec<u8>,
}

type Keep1 = (
    UniqueKeep1to2<Curve>,
    BTreeMap<PartyIndex, KeepPhase1to2<Curve>>,
);
type Keep2 = (
    UniqueKeep2to3<Curve>,
    BTreeMap<PartyIndex, KeepPhase2to3<Curve>>,
);

/// One signer's side of an ECDSA signing session.
pub struct EcdsaSign {
    share: EcdsaKeyShare,
    signers: Vec<NodeId>,
    parties: Parties,
    data: SignData,
    digest: [u8; 32],
    keep1: Option<Keep1>,
    keep2: Option<Keep2>,
    x_coord: Option<String>,
    /// Fault injection (debug builds): corrupt our first-round OT data.
    cheat: bool,
}

impl std::fmt::Debug for EcdsaSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaSign")
            .field("me", &self.share.info.me)
            .finish()
    }
}

impl EcdsaSign {
    /// `config.players` are the signers; `digest` is the 32-byte hash to sign.
    pub fn new(
        config: &SessionConfig,
        mut share: EcdsaKeyShare,
        digest: &[u8],
        path: &DerivationPath,
    ) -> Result<Self, Abort> {
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| Abort::BadDigest { len: digest.len() })?;
        path.check_non_hardened()?;
        let expected = share.info.threshold.signers();
        if config.players().len() != expected {
            return Err(Abort::SignerCount {
                expected,
                got: config.players().len(),
            });
        }
        let parties = share.info.parties()?;
        let me = share.info.me.clone();
        let mut counterparties = Vec::new();
        for p in config.players() {
            let index = parties.index(p)?;
            if *p != me {
                counterparties
                    .push(PartyIndex::new(index).map_err(|e| Abort::Config(e.to_string()))?);
            }
        }
        if !config.is_player(&me) {
            return Err(Abort::NotAParticipant(me));
        }
        // Shift our share to the child key in place; the OT state stays as it is.
        if !path.is_empty() {
            let mut deriv = share.party.derivation_data.clone();
            for &i in path.indices() {
                deriv = deriv
                    .derive_child(i)
                    .map_err(|e| Abort::Local(format!("derivation: {}", e.description)))?;
            }
            share.party.poly_point = deriv.poly_point;
            share.party.pk = deriv.pk;
            share.party.derivation_data = deriv;
        }
        let sign_id = dkls_id(b"tessera/dkls23/sign/v1", &config.session_id);
        Ok(Self {
            data: SignData {
                sign_id,
                counterparties,
                message_hash: digest,
            },
            signers: config.players().to_vec(),
            parties,
            share,
            digest,
            keep1: None,
            keep2: None,
            x_coord: None,
            cheat: false,
        })
    }

    /// Fault injection for tests, debug builds only: this party flips one bit
    /// of the OT extension data in its first-round messages, so each honest
    /// counterparty's multiplication check fails in `sign_phase2` and DKLs23
    /// aborts with `BanCounterparty` naming this party (the message is signed
    /// by it, so the receivers hold the proof).
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn cheat_in_ot_for_tests(&mut self) {
        self.cheat = true;
    }

    fn me(&self) -> &NodeId {
        &self.share.info.me
    }

    /// Decodes one p2p message per other signer and checks its claimed sender.
    fn collect<T: serde::de::DeserializeOwned>(
        &self,
        input: &RoundInput,
        sender: impl Fn(&T) -> u8,
    ) -> Result<Vec<T>, Fault> {
        let mut out = Vec::new();
        for p in self.signers.iter().filter(|p| *p != self.me()) {
            let m: T = decode(p, take(&input.p2p, p)?)?;
            if Some(p) != self.parties.node(sender(&m)) {
                return Err(Fault::Malformed {
                    from: p.clone(),
                    detail: "claims another sender index".into(),
                });
            }
            out.push(m);
        }
        Ok(out)
    }

    fn finish(&mut self, input: RoundInput) -> Result<EcdsaSignature, Fault> {
        let mut received: Vec<Broadcast3to4<Curve>> = Vec::new();
        for p in &self.signers {
            received.push(decode(p, take(&input.broadcasts, p)?)?);
        }
        let x = self
            .x_coord
            .take()
            .ok_or_else(|| Fault::Local("phase order".into()))?;
        let (s_hex, recovery_id) = self
            .share
            .party
            .sign_phase4(&self.data, &x, &received, true)
            .map_err(|a| fault(a, &self.parties))?;
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        hex_into(&x, &mut r)?;
        hex_into(&s_hex, &mut s)?;
        let public_key = point_to_bytes::<Curve>(&self.share.party.pk);
        if !verify_ecdsa(&public_key, &self.digest, &r, &s, recovery_id) {
            return Err(Fault::InvalidSignature);
        }
        Ok(EcdsaSignature {
            r,
            s,
            recovery_id,
            public_key,
        })
    }
}

fn hex_into(s: &str, out: &mut [u8; 32]) -> Result<(), Fault> {
    if s.len() != 64 || !s.is_ascii() {
        return Err(Fault::Local("library returned a malformed scalar".into()));
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
            .map_err(|_| Fault::Local("library returned a malformed scalar".into()))?;
    }
    Ok(())
}

impl RoundProtocol for EcdsaSign {
    type Output = EcdsaSignature;

    fn rounds(&self) -> u16 {
        3
    }

    fn shape(&self, round: u16) -> RoundShape {
        RoundShape {
            broadcast: round == 2,
            p2p: round < 2,
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let (unique, keep, transmit) = self
            .share
            .party
            .sign_phase1(&self.data)
            .map_err(|a| fault(a, &self.parties))?;
        let mut transmit = transmit;
        if self.cheat {
            for m in &mut transmit {
                if let Some(byte) = m.mul_transmit.u.first_mut().and_then(|u| u.first_mut()) {
                    *byte ^= 1;
                }
            }
        }
        self.keep1 = Some((unique, keep));
        Ok(RoundOutput {
            broadcast: None,
            p2p: self.parties.route(
                transmit,
                |m: &TransmitPhase1to2| m.parties.receiver.as_u8(),
                |m| encode(&m),
            )?,
        })
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EcdsaSignature>, Fault> {
        match round {
            0 => {
                let received: Vec<TransmitPhase1to2> =
                    self.collect(&input, |m: &TransmitPhase1to2| m.parties.sender.as_u8())?;
                let (unique, keep) = self
                    .keep1
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (unique, keep, transmit) = self
                    .share
                    .party
                    .sign_phase2(&self.data, unique, keep, &received)
                    .map_err(|a| fault(a, &self.parties))?;
                self.keep2 = Some((unique, keep));
                Ok(Step::Next(RoundOutput {
                    broadcast: None,
                    p2p: self.parties.route(
                        transmit,
                        |m: &TransmitPhase2to3<Curve>| m.parties.receiver.as_u8(),
                        |m| encode(&m),
                    )?,
                }))
            }
            1 => {
                let received: Vec<TransmitPhase2to3<Curve>> = self
                    .collect(&input, |m: &TransmitPhase2to3<Curve>| {
                        m.parties.sender.as_u8()
                    })?;
                let (unique, keep) = self
                    .keep2
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (x, broadcast) = self
                    .share
                    .party
                    .sign_phase3(&self.data, unique, keep, &received)
                    .map_err(|a| fault(a, &self.parties))?;
                self.x_coord = Some(x);
                Ok(Step::Next(RoundOutput::broadcast_only(encode(&broadcast)?)))
            }
            2 => self.finish(input).map(Step::Done),
            _ => Err(Fault::Local(format!("no round {round}"))),
        }
    }
}
