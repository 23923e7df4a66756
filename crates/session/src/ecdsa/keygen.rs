//! DKLs23 distributed key generation as three Tessera rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | p2p: polynomial fragment for each party | `phase1` |
//! | 1 | broadcast: proof + chain-code commitment; p2p: zero-share commitment | `phase2` |
//! | 2 | broadcast: chain-code opening; p2p: zero-share seed + multiplication init | `phase3` |
//! | end | | `phase4` (after the echo round); the share keeps its public key package |

use std::collections::BTreeMap;

use dkls23::protocols::dkg::{
    BroadcastDerivationPhase2to4, BroadcastDerivationPhase3to4, ProofCommitment,
    TransmitInitMulPhase3to4, TransmitInitZeroSharePhase2to4, TransmitInitZeroSharePhase3to4,
};
use dkls23::protocols::{Parameters, PartyIndex};
use dkls23::utilities::hashes::point_to_bytes;
use dkls23::DkgSession;
use tessera_types::{NodeId, SessionConfig};

use super::fragments::{self, Scalar};
use super::{dkls_id, fault, party_index, Curve, EcdsaKeyShare};
use crate::codec::{decode, encode, take};
use crate::error::Abort;
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::share_info::ShareInfo;

/// One participant's side of an ECDSA keygen.
pub struct EcdsaKeygen {
    config: SessionConfig,
    me: NodeId,
    my_index: u8,
    parties: Parties,
    dkg: Option<DkgSession<Curve>>,
    own_fragment: Option<Scalar>,
    proofs: Vec<ProofCommitment<Curve>>,
    zero2: Vec<TransmitInitZeroSharePhase2to4>,
    bip2: BTreeMap<PartyIndex, BroadcastDerivationPhase2to4>,
}

impl std::fmt::Debug for EcdsaKeygen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaKeygen").field("me", &self.me).finish()
    }
}

impl EcdsaKeygen {
    /// `config.players` are all participants of the new key.
    pub fn new(config: SessionConfig, me: NodeId) -> Result<Self, Abort> {
        let n = config.players().len();
        config
            .threshold
            .check(n)
            .map_err(|e| Abort::Config(e.to_string()))?;
        let parties = Parties::new(config.players().to_vec())?;
        let my_index = parties.index(&me)?;
        let signers = u8::try_from(config.threshold.signers())
            .map_err(|_| Abort::Config("threshold too large".into()))?;
        let params = Parameters::new(signers, n as u8).map_err(|e| Abort::Config(e.to_string()))?;
        let index = PartyIndex::new(my_index).map_err(|e| Abort::Config(e.to_string()))?;
        // DKLs23 binds every message to this id; derive it from Tessera's session id.
        let sid = dkls_id(b"tessera/dkls23/keygen/v1", &config.session_id);
        Ok(Self {
            dkg: Some(DkgSession::new(params, index, sid)),
            config,
            me,
            my_index,
            parties,
            own_fragment: None,
            proofs: Vec::new(),
            zero2: Vec::new(),
            bip2: BTreeMap::new(),
        })
    }

    fn dkg(&mut self) -> Result<&mut DkgSession<Curve>, Fault> {
        self.dkg
            .as_mut()
            .ok_or_else(|| Fault::Local("keygen state already consumed".into()))
    }

    fn others(&self) -> Vec<NodeId> {
        self.parties
            .ids()
            .iter()
            .filter(|p| **p != self.me)
            .cloned()
            .collect()
    }

    fn round1(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        let own = self.own_fragment.take();
        let fragments = fragments::gather(&self.parties, &self.me, own, &input)?;
        let parties = self.parties.clone();
        let (proof, zero, bip) = self
            .dkg()?
            .phase2(&fragments)
            .map_err(|a| fault(a, &parties))?;
        let broadcast = encode(&(&proof, &bip))?;
        self.proofs.push(proof);
        self.bip2.insert(party_index(self.my_index)?, bip);
        let mut p2p = BTreeMap::new();
        for (to, m) in self
            .parties
            .route(zero, |m| m.parties.receiver.as_u8(), Ok)?
        {
            p2p.insert(to, encode(&m)?);
        }
        Ok(RoundOutput {
            broadcast: Some(broadcast),
            p2p,
        })
    }

    fn round2(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        for p in self.others() {
            let index = party_index(
                self.parties
                    .index(&p)
                    .map_err(|e| Fault::Local(e.to_string()))?,
            )?;
            let (proof, bip): (ProofCommitment<Curve>, BroadcastDerivationPhase2to4) =
                decode(&p, take(&input.broadcasts, &p)?)?;
            let zero: TransmitInitZeroSharePhase2to4 = decode(&p, take(&input.p2p, &p)?)?;
            if proof.index != index || bip.sender_index != index || zero.parties.sender != index {
                return Err(Fault::malformed(&p, "claims another sender index"));
            }
            self.proofs.push(proof);
            self.bip2.insert(index, bip);
            self.zero2.push(zero);
        }
        let parties = self.parties.clone();
        let (zero, mul, bip) = self.dkg()?.phase3().map_err(|a| fault(a, &parties))?;
        let mut zero = self
            .parties
            .route(zero, |m| m.parties.receiver.as_u8(), Ok)?;
        let mut mul = self
            .parties
            .route(mul, |m| m.parties.receiver.as_u8(), Ok)?;
        let mut p2p = BTreeMap::new();
        for p in self.others() {
            let (z, m) = zero.remove(&p).zip(mul.remove(&p)).ok_or_else(|| {
                Fault::Local(format!("library produced no round 2 message for {p}"))
            })?;
            p2p.insert(p, encode(&(z, m))?);
        }
        Ok(RoundOutput {
            broadcast: Some(encode(&bip)?),
            p2p,
        })
    }

    fn finish(&mut self, input: RoundInput) -> Result<EcdsaKeyShare, Fault> {
        let mut bip3 = BTreeMap::new();
        let mut zero3 = Vec::new();
        let mut mul3 = Vec::new();
        for p in self.parties.ids().to_vec() {
            let index = party_index(
                self.parties
                    .index(&p)
                    .map_err(|e| Fault::Local(e.to_string()))?,
            )?;
            let bip: BroadcastDerivationPhase3to4 = decode(&p, take(&input.broadcasts, &p)?)?;
            if bip.sender_index != index {
                return Err(Fault::malformed(&p, "claims another sender index"));
            }
            bip3.insert(index, bip);
            if p != self.me {
                let (z, m): (
                    TransmitInitZeroSharePhase3to4,
                    TransmitInitMulPhase3to4<Curve>,
                ) = decode(&p, take(&input.p2p, &p)?)?;
                if z.parties.sender != index || m.parties.sender != index {
                    return Err(Fault::malformed(&p, "claims another sender index"));
                }
                zero3.push(z);
                mul3.push(m);
            }
        }
        let dkg = self
            .dkg
            .take()
            .ok_or_else(|| Fault::Local("keygen state already consumed".into()))?;
        let (party, package) = dkg
            .phase4(
                &self.proofs,
                &self.zero2,
                &zero3,
                &mul3,
                &self.bip2,
                &bip3,
                |_| String::new(),
            )
            .map_err(|a| fault(a, &self.parties))?;
        let public_key = point_to_bytes::<Curve>(&party.pk);
        let info = ShareInfo {
            participants: self.parties.ids().to_vec(),
            threshold: self.config.threshold,
            me: self.me.clone(),
            public_key,
            chain_code: *party.chain_code(),
            epoch: 0,
            indices: self.parties.indices().to_vec(),
        };
        Ok(EcdsaKeyShare {
            info,
            party,
            package: Some(package),
        })
    }
}

impl RoundProtocol for EcdsaKeygen {
    type Output = EcdsaKeyShare;

    fn rounds(&self) -> u16 {
        3
    }

    fn shape(&self, round: u16) -> RoundShape {
        RoundShape {
            broadcast: round >= 1,
            p2p: true,
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let fragments = self.dkg()?.phase1();
        let (own, output) = fragments::send(&self.parties, &self.me, fragments)?;
        self.own_fragment = own;
        Ok(output)
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EcdsaKeyShare>, Fault> {
        match round {
            0 => self.round1(input).map(Step::Next),
            1 => self.round2(input).map(Step::Next),
            2 => self.finish(input).map(Step::Done),
            _ => Err(Fault::Local(format!("no round {round}"))),
        }
    }
}
