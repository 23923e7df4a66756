//! DKLs23 replace: repair one or more indices for their (new) holders, then
//! the complete refresh by the whole committee, as one session of 4 rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | helpers: broadcast the public key package, p2p a repair term to each target | `Party::repair_term` |
//! | end of 0 | targets: all packages equal and the key's; assemble the hollow share | `repair_assemble` |
//! | 1-3 | the complete refresh of every index (see `refresh`) | `refresh_complete_phase1..4` |
//!
//! Players with nothing to say in round 0 send empty payloads. The repaired
//! share is hollow (no OT or zero-share state) and cannot sign or help until
//! the refresh rebuilt that state, which is why the refresh always follows.
//! DKLs23 fixes the number of shares: the committee holds exactly the key's
//! indices `1..=n`, whatever node ids hold them.

use dkls23::protocols::repair::{repair_assemble, RepairTerm};
use dkls23::protocols::{PartyIndex, PublicKeyPackage};
use dkls23::utilities::hashes::point_to_bytes;
use tessera_types::{NodeId, SessionConfig};

use super::refresh::{self, EcdsaRefresh};
use super::{dkls_id, party_index, Curve, EcdsaKeyShare};
use crate::codec::{decode, encode, take};
use crate::error::Abort;
use crate::repair_failure::RepairFailure;
use crate::replace_plan::{ReplaceError, ReplacePlan, ReplaceRole, TargetKey};
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::share_info::ShareInfo;

/// One committee member's side of an ECDSA replace.
pub struct EcdsaReplace {
    config: SessionConfig,
    plan: ReplacePlan,
    role: ReplaceRole<EcdsaKeyShare>,
    repair_id: Vec<u8>,
    refresh: Option<EcdsaRefresh>,
    /// Fault injection (debug builds): send wrong repair terms.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    cheat: bool,
}

impl std::fmt::Debug for EcdsaReplace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcdsaReplace")
            .field("me", self.me())
            .finish()
    }
}

impl EcdsaReplace {
    /// `config.players` must be the plan's committee; a helper brings its
    /// share (with the key's public key package), a target what it knows of
    /// the key.
    pub fn new(
        config: &SessionConfig,
        plan: ReplacePlan,
        role: ReplaceRole<EcdsaKeyShare>,
    ) -> Result<Self, Abort> {
        let (me, threshold) = match &role {
            ReplaceRole::Helper(s) => (&s.info.me, s.info.threshold),
            ReplaceRole::Target(k) => (&k.me, k.threshold),
        };
        plan.check(
            config,
            threshold,
            me,
            matches!(role, ReplaceRole::Helper(_)),
        )?;
        let n = plan.committee.len();
        if !plan.committee.is_dense() {
            return Err(Abort::Replace(ReplaceError::EcdsaIndices {
                n,
                got: plan.committee.indices().to_vec(),
            }));
        }
        if let ReplaceRole::Helper(share) = &role {
            let planned = plan.committee.index(me)?;
            let held = share.party.party_index.as_u8();
            if held != planned {
                return Err(Abort::Replace(ReplaceError::IndexMoved {
                    node: me.clone(),
                    held,
                    planned,
                }));
            }
            let package = share
                .package
                .as_ref()
                .ok_or_else(|| Abort::Replace(ReplaceError::MissingPackage(me.clone())))?;
            if usize::from(package.share_count()) != n {
                return Err(Abort::Replace(ReplaceError::EcdsaIndices {
                    n: usize::from(package.share_count()),
                    got: plan.committee.indices().to_vec(),
                }));
            }
            if share.party.derivation_data.depth != 0 {
                return Err(Abort::Local(
                    "refusing to repair from a derived share".into(),
                ));
            }
        }
        Ok(Self {
            repair_id: dkls_id(b"tessera/dkls23/repair/v1", &config.session_id),
            config: config.clone(),
            plan,
            role,
            refresh: None,
            cheat: false,
        })
    }

    /// Fault injection for tests, debug builds only: this helper's repair
    /// terms are off by one, so the target's `repair_assemble` fails with
    /// `ShareMismatch` (which cannot name the sender).
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn send_wrong_repair_terms_for_tests(&mut self) {
        self.cheat = true;
    }

    fn me(&self) -> &NodeId {
        match &self.role {
            ReplaceRole::Helper(s) => &s.info.me,
            ReplaceRole::Target(k) => &k.me,
        }
    }

    fn indices(&self, nodes: &[NodeId]) -> Result<Vec<PartyIndex>, Fault> {
        let mut out = Vec::new();
        for n in nodes {
            let i = self
                .plan
                .committee
                .index(n)
                .map_err(|e| Fault::Local(e.to_string()))?;
            out.push(party_index(i)?);
        }
        out.sort_unstable();
        Ok(out)
    }

    /// A helper's round 0: its package to all, a term to each target.
    fn help(&self, share: &EcdsaKeyShare) -> Result<RoundOutput, Fault> {
        let helpers = self.indices(&self.plan.helpers)?;
        let package = share
            .package
            .as_ref()
            .ok_or_else(|| Fault::Local("helper without a package".into()))?;
        let mut p2p = std::collections::BTreeMap::new();
        for p in self.plan.committee.ids().iter().filter(|p| *p != self.me()) {
            if !self.plan.is_target(p) {
                p2p.insert(p.clone(), Vec::new());
                continue;
            }
            let target = self.indices(std::slice::from_ref(p))?[0];
            #[allow(unused_mut)]
            let mut term = share
                .party
                .repair_term(&helpers, target, &self.repair_id)
                .map_err(|e| Fault::Repair(RepairFailure::Ecdsa(e)))?;
            #[cfg(debug_assertions)]
            if self.cheat {
                term.term += super::fragments::Scalar::ONE;
            }
            p2p.insert(p.clone(), encode(&term)?);
        }
        Ok(RoundOutput {
            broadcast: Some(encode(package)?),
            p2p,
        })
    }

    /// The package every helper broadcast; they must all be the same bytes.
    fn common_package(&self, input: &RoundInput) -> Result<PublicKeyPackage<Curve>, Fault> {
        let mut first: Option<(&NodeId, &[u8])> = None;
        for h in &self.plan.helpers {
            let bytes = take(&input.broadcasts, h)?;
            match first {
                None => first = Some((h, bytes)),
                Some((_, f)) if f == bytes => {}
                Some(_) => return Err(Fault::Repair(RepairFailure::PackagesDiffer)),
            }
        }
        let (from, bytes) = first.ok_or_else(|| Fault::Local("no helpers".into()))?;
        decode(from, bytes)
    }

    /// A target's end of round 0: the repaired (hollow) share.
    fn assemble(&self, key: &TargetKey, input: &RoundInput) -> Result<EcdsaKeyShare, Fault> {
        let package = self.common_package(input)?;
        let wrong = |what: &str| Fault::Repair(RepairFailure::WrongPackage(what.into()));
        if point_to_bytes::<Curve>(package.verifying_key()) != key.public_key {
            return Err(wrong("another group key"));
        }
        if usize::from(package.threshold()) != key.threshold.signers() {
            return Err(wrong("another threshold"));
        }
        if usize::from(package.share_count()) != self.plan.committee.len() {
            return Err(wrong("another number of shares"));
        }
        let target = self.indices(std::slice::from_ref(&key.me))?[0];
        let mut terms: Vec<RepairTerm<Curve>> = Vec::new();
        for h in &self.plan.helpers {
            let term: RepairTerm<Curve> = decode(h, take(&input.p2p, h)?)?;
            if term.helper != self.indices(std::slice::from_ref(h))?[0] {
                return Err(Fault::malformed(h, "claims another helper index"));
            }
            terms.push(term);
        }
        let party = repair_assemble(&package, target, &terms, |_| String::new())
            .map_err(|e| Fault::Repair(RepairFailure::Ecdsa(e)))?;
        let info = ShareInfo {
            participants: self.plan.committee.ids().to_vec(),
            indices: self.plan.committee.indices().to_vec(),
            threshold: key.threshold,
            me: key.me.clone(),
            public_key: key.public_key.clone(),
            chain_code: *party.chain_code(),
            epoch: key.epoch,
        };
        Ok(EcdsaKeyShare {
            info,
            party,
            package: Some(package),
        })
    }

    /// End of round 0: everyone's share for the refresh, its round 0 out.
    fn start_refresh(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        let share = match &self.role {
            ReplaceRole::Target(key) => self.assemble(key, &input)?,
            ReplaceRole::Helper(share) => {
                // Every helper saw the same package as the targets.
                self.common_package(&input)?;
                let mut share = share.clone();
                share.info.participants = self.plan.committee.ids().to_vec();
                share.info.indices = self.plan.committee.indices().to_vec();
                share
            }
        };
        let mut refresh = EcdsaRefresh::new(&self.config, share)
            .map_err(|a| Fault::Local(format!("refresh after repair: {a}")))?;
        let out = refresh.start()?;
        self.refresh = Some(refresh);
        Ok(out)
    }
}

impl RoundProtocol for EcdsaReplace {
    type Output = EcdsaKeyShare;

    fn rounds(&self) -> u16 {
        1 + refresh::ROUNDS
    }

    fn shape(&self, round: u16) -> RoundShape {
        match round {
            0 => RoundShape {
                broadcast: true,
                p2p: true,
            },
            r => refresh::shape(r - 1),
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        match &self.role {
            ReplaceRole::Helper(share) => self.help(share),
            ReplaceRole::Target(_) => Ok(RoundOutput {
                broadcast: Some(Vec::new()),
                p2p: self
                    .plan
                    .committee
                    .ids()
                    .iter()
                    .filter(|p| *p != self.me())
                    .map(|p| (p.clone(), Vec::new()))
                    .collect(),
            }),
        }
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EcdsaKeyShare>, Fault> {
        if round == 0 {
            return self.start_refresh(input).map(Step::Next);
        }
        self.refresh
            .as_mut()
            .ok_or_else(|| Fault::Local("phase order".into()))?
            .finish_round(round - 1, input)
    }
}

#[cfg(test)]
mod tests {
    use dkls23::protocols::repair::RepairError;
    use tessera_types::{SessionId, Threshold};

    use super::*;
    use crate::ecdsa::EcdsaKeygen;
    use crate::parties::Parties;
    use crate::simulator::{run, sessions, Faults};

    /// A repaired share has no zero-share seeds until the complete refresh
    /// rebuilt them, so it cannot help a later repair: dkls23's
    /// `repair_term` says `MissingSeed`, which the session reports typed.
    #[test]
    fn a_hollow_share_cannot_help() {
        let ids: Vec<NodeId> = (0..3)
            .map(|i| NodeId::new(format!("n{i}")).unwrap())
            .collect();
        let cfg = |sid: &str| {
            SessionConfig::new(SessionId::new(sid).unwrap(), ids.clone(), Threshold(1)).unwrap()
        };
        let kg = cfg("kg");
        let shares = run(
            sessions(&kg, |me| EcdsaKeygen::new(kg.clone(), me.clone())).unwrap(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap();
        // Index 3 repaired by 1 and 2, with the library directly.
        let helpers = [party_index(1).unwrap(), party_index(2).unwrap()];
        let target = party_index(3).unwrap();
        let terms: Vec<_> = ids[..2]
            .iter()
            .map(|h| {
                shares[h]
                    .party
                    .repair_term(&helpers, target, b"first repair")
                    .unwrap()
            })
            .collect();
        let package = shares[&ids[0]].package.clone().unwrap();
        let mut hollow = shares[&ids[2]].clone();
        hollow.party = repair_assemble(&package, target, &terms, |_| String::new()).unwrap();

        // Now the hollow index 3 helps repair index 1.
        let plan = ReplacePlan {
            committee: Parties::new(ids.clone()).unwrap(),
            helpers: ids[1..].to_vec(),
            targets: vec![ids[0].clone()],
        };
        let mut p = EcdsaReplace::new(&cfg("again"), plan, ReplaceRole::Helper(hollow)).unwrap();
        assert!(matches!(
            p.start(),
            Err(Fault::Repair(RepairFailure::Ecdsa(
                RepairError::MissingSeed { .. }
            )))
        ));
    }
}
