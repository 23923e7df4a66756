//! DKLs23's complete refresh as three Tessera rounds, run by every holder.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | p2p: zero-polynomial fragment for each party | `refresh_complete_phase1` |
//! | 1 | broadcast: proof commitment; p2p: zero-share commitment | `refresh_complete_phase2` |
//! | 2 | p2p: zero-share seed + multiplication init | `refresh_complete_phase3` |
//! | end | | `refresh_complete_phase4` (round 1's broadcasts echo-checked first) |
//!
//! The complete refresh (not the fast one) rebuilds the OT and zero-share
//! state from scratch, which is also what a repaired share needs. The group
//! key, chain code and threshold stay; the output share is one epoch later.
//! The library's phase 4 refuses unless the corrections have a zero constant
//! term, so no party can move the key. A share that keeps the group's public
//! key package gets it refreshed too (`PublicKeyPackage::refresh`), so a later
//! repair checks against the refreshed verifying shares.

use std::collections::BTreeMap;

use dkls23::protocols::dkg::{
    KeepInitMulPhase3to4, KeepInitZeroSharePhase2to3, KeepInitZeroSharePhase3to4, ProofCommitment,
    TransmitInitMulPhase3to4, TransmitInitZeroSharePhase2to4, TransmitInitZeroSharePhase3to4,
};
use dkls23::protocols::PartyIndex;
use tessera_types::{NodeId, SessionConfig};

use super::fragments::{self, Scalar};
use super::{dkls_id, fault, party_index, Curve, EcdsaKeyShare};
use crate::codec::{decode, encode, take};
use crate::error::Abort;
use crate::lifecycle::{next_epoch, refresh_parties};
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};

/// Number of rounds (a replace runs them after its repair round).
pub(super) const ROUNDS: u16 = 3;

/// What round `round` carries.
pub(super) fn shape(round: u16) -> RoundShape {
    RoundShape {
        broadcast: round == 1,
        p2p: true,
    }
}

type Round2Message = (
    TransmitInitZeroSharePhase3to4,
    TransmitInitMulPhase3to4<Curve>,
);

/// One holder's side of an ECDSA share refresh.
pub struct EcdsaRefresh {
    share: EcdsaKeyShare,
    parties: Parties,
    sid: Vec<u8>,
    own_fragment: Option<Scalar>,
    correction: Option<Scalar>,
    proofs: Vec<ProofCommitment<Curve>>,
    zero_keep2: BTreeMap<PartyIndex, KeepInitZeroSharePhase2to3>,
    zero2: Vec<TransmitInitZeroSharePhase2to4>,
    zero_keep3: BTreeMap<PartyIndex, KeepInitZeroSharePhase3to4>,
    mul_keep3: BTreeMap<PartyIndex, KeepInitMulPhase3to4<Curve>>,
}

impl std::fmt::Debug for EcdsaRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaRefresh")
            .field("me", &self.share.info.me)
            .finish()
    }
}

impl Drop for EcdsaRefresh {
    // The own fragment and the correction are secret share material.
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.own_fragment.iter_mut().for_each(Zeroize::zeroize);
        self.correction.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl EcdsaRefresh {
    /// `config.players` must be every holder of `share`'s key, with its threshold.
    pub fn new(config: &SessionConfig, share: EcdsaKeyShare) -> Result<Self, Abort> {
        let parties = refresh_parties(config, &share.info)?;
        parties.require_dense()?;
        if share.party.derivation_data.depth != 0 {
            // The library's own advice: refresh master shares only.
            return Err(Abort::Local("refusing to refresh a derived share".into()));
        }
        Ok(Self {
            sid: dkls_id(b"tessera/dkls23/refresh/v1", &config.session_id),
            share,
            parties,
            own_fragment: None,
            correction: None,
            proofs: Vec::new(),
            zero_keep2: BTreeMap::new(),
            zero2: Vec::new(),
            zero_keep3: BTreeMap::new(),
            mul_keep3: BTreeMap::new(),
        })
    }

    fn me(&self) -> &NodeId {
        &self.share.info.me
    }

    fn others(&self) -> Vec<NodeId> {
        let me = self.me();
        self.parties
            .ids()
            .iter()
            .filter(|p| *p != me)
            .cloned()
            .collect()
    }

    fn index_of(&self, p: &NodeId) -> Result<PartyIndex, Fault> {
        party_index(
            self.parties
                .index(p)
                .map_err(|e| Fault::Local(e.to_string()))?,
        )
    }

    /// Round 0 in: one fragment from every party, in index order.
    fn round1(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        let own = self.own_fragment.take();
        let fragments = fragments::gather(&self.parties, self.me(), own, &input)?;
        let (correction, proof, keep, zero) = self
            .share
            .party
            .refresh_complete_phase2(&self.sid, &fragments);
        self.correction = Some(correction);
        self.zero_keep2 = keep;
        let broadcast = encode(&proof)?;
        self.proofs.push(proof);
        let p2p = self
            .parties
            .route(zero, |m| m.parties.receiver.as_u8(), |m| encode(&m))?;
        Ok(RoundOutput {
            broadcast: Some(broadcast),
            p2p,
        })
    }

    /// Round 1 in: every proof commitment and zero-share commitment.
    fn round2(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        for p in self.others() {
            let index = self.index_of(&p)?;
            let proof: ProofCommitment<Curve> = decode(&p, take(&input.broadcasts, &p)?)?;
            let zero: TransmitInitZeroSharePhase2to4 = decode(&p, take(&input.p2p, &p)?)?;
            if proof.index != index || zero.parties.sender != index {
                return Err(Fault::malformed(&p, "claims another sender index"));
            }
            self.proofs.push(proof);
            self.zero2.push(zero);
        }
        let (zero_keep, zero, mul_keep, mul) = self
            .share
            .party
            .refresh_complete_phase3(&self.sid, &self.zero_keep2);
        self.zero_keep2.clear();
        self.zero_keep3 = zero_keep;
        self.mul_keep3 = mul_keep;
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
            broadcast: None,
            p2p,
        })
    }

    /// Round 2 in: seeds and multiplication init; the refreshed share out.
    fn finish(&mut self, input: RoundInput) -> Result<EcdsaKeyShare, Fault> {
        let mut zero3 = Vec::new();
        let mut mul3 = Vec::new();
        for p in self.others() {
            let index = self.index_of(&p)?;
            let (z, m): Round2Message = decode(&p, take(&input.p2p, &p)?)?;
            if z.parties.sender != index || m.parties.sender != index {
                return Err(Fault::malformed(&p, "claims another sender index"));
            }
            zero3.push(z);
            mul3.push(m);
        }
        let correction = self
            .correction
            .take()
            .ok_or_else(|| Fault::Local("phase order".into()))?;
        let party = self
            .share
            .party
            .refresh_complete_phase4(
                &self.sid,
                &correction,
                &self.proofs,
                &self.zero_keep3,
                &self.zero2,
                &zero3,
                &self.mul_keep3,
                &mul3,
            )
            .map_err(|a| fault(a, &self.parties))?;
        // Phase 4 checked that the corrections leave the key where it was;
        // the refreshed party carries the key and chain code over.
        let info = next_epoch(&self.share.info).map_err(|a| Fault::Local(a.to_string()))?;
        if party.pk != self.share.party.pk || party.chain_code() != self.share.party.chain_code() {
            return Err(Fault::Local("refresh moved the key".into()));
        }
        // The package follows: each verifying share moves by its party's
        // committed correction (the library checks the commitments again).
        let package = match &self.share.package {
            Some(p) => Some(
                p.refresh(&self.sid, &self.proofs)
                    .map_err(|r| Fault::Local(format!("public key package refresh: {r:?}")))?,
            ),
            None => None,
        };
        Ok(EcdsaKeyShare {
            info,
            party,
            package,
        })
    }
}

impl RoundProtocol for EcdsaRefresh {
    type Output = EcdsaKeyShare;

    fn rounds(&self) -> u16 {
        ROUNDS
    }

    fn shape(&self, round: u16) -> RoundShape {
        shape(round)
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let fragments = self.share.party.refresh_complete_phase1();
        let (own, output) = fragments::send(&self.parties, self.me(), fragments)?;
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
