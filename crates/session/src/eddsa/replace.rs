//! FROST replace: repair (RTS) for each target, then the refresh by DKG
//! among the new committee, as one session of 4 rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | helpers: broadcast the public key package, p2p deltas to every other helper | `repair_share_part1` |
//! | 1 | helpers: p2p sigma to each target | `repair_share_part2` |
//! | end of 1 | targets: the repaired key package, checked against the package | `repair_share_part3` |
//! | 2 | broadcast: refresh commitment, plus an enrolled target's verifying share | `refresh_dkg_part1` |
//! | 3 | p2p: refreshing shares | `refresh_dkg_part2`, then `refresh_dkg_shares` |
//!
//! Players with nothing to say send empty payloads. A target whose
//! identifier is in the key's package must end with exactly that verifying
//! share (frost does not check it; this session does). A target with a new
//! identifier (grow) is *enrolled*: frost's book allows issuing a share to a
//! new participant; its verifying share is self-reported in round 2 and the
//! package extended with `PublicKeyPackage::new` (nothing can check it here:
//! the caller's check signature does, see the design §2.7). Old holders left
//! out of the committee are removed by the refresh.

use std::collections::BTreeMap;

use frost_ed25519::keys::repairable::{
    repair_share_part1, repair_share_part2, repair_share_part3, Delta, Sigma,
};
use frost_ed25519::keys::{PublicKeyPackage, VerifyingShare};
use frost_ed25519::{Ed25519Sha512, Identifier};
use tessera_types::{NodeId, SessionConfig};
use zeroize::Zeroizing;

use super::refresh::{self, EddsaRefresh};
use super::{identifier, EddsaKeyShare};
use crate::codec::{decode, encode, take};
use crate::derive::ed25519::master_chain_code;
use crate::error::Abort;
use crate::repair_failure::RepairFailure;
use crate::replace_plan::{ReplaceError, ReplacePlan, ReplaceRole, TargetKey};
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::share_info::ShareInfo;

/// Round 2's broadcast: the refresh commitment, and an enrolled target's
/// verifying share.
type Round2 = (Vec<u8>, Option<Vec<u8>>);

/// One committee member's side of an EdDSA replace.
pub struct EddsaReplace {
    config: SessionConfig,
    plan: ReplacePlan,
    role: ReplaceRole<EddsaKeyShare>,
    /// This helper's own delta for each target (targets in plan order).
    own_deltas: Vec<Delta>,
    package: Option<PublicKeyPackage>,
    refresh: Option<EddsaRefresh>,
    /// Fault injection (debug builds): send wrong sigmas.
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    cheat: bool,
}

impl std::fmt::Debug for EddsaReplace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EddsaReplace")
            .field("me", self.me())
            .finish()
    }
}

fn frost_fault(e: frost_ed25519::Error) -> Fault {
    Fault::Repair(RepairFailure::Frost(e.to_string()))
}

impl EddsaReplace {
    /// `config.players` must be the plan's committee; a helper brings its
    /// share, a target what it knows of the key.
    pub fn new(
        config: &SessionConfig,
        plan: ReplacePlan,
        role: ReplaceRole<EddsaKeyShare>,
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
        if let ReplaceRole::Helper(share) = &role {
            let planned = plan.committee.index(me)?;
            let planned_id = identifier(planned).map_err(|f| Abort::from_fault(f, 0))?;
            if *share.key_package.identifier() != planned_id {
                return Err(Abort::Replace(ReplaceError::IndexMoved {
                    node: me.clone(),
                    held: share.info.my_index()?,
                    planned,
                }));
            }
        }
        Ok(Self {
            config: config.clone(),
            plan,
            role,
            own_deltas: Vec::new(),
            package: None,
            refresh: None,
            cheat: false,
        })
    }

    /// Fault injection for tests, debug builds only: this helper's sigmas
    /// are wrong, so the repaired share does not match the key.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub fn send_wrong_sigmas_for_tests(&mut self) {
        self.cheat = true;
    }

    fn me(&self) -> &NodeId {
        match &self.role {
            ReplaceRole::Helper(s) => &s.info.me,
            ReplaceRole::Target(k) => &k.me,
        }
    }

    fn id_of(&self, node: &NodeId) -> Result<Identifier, Fault> {
        identifier(
            self.plan
                .committee
                .index(node)
                .map_err(|e| Fault::Local(e.to_string()))?,
        )
    }

    fn others(&self) -> Vec<NodeId> {
        let me = self.me();
        let ids = self.plan.committee.ids();
        ids.iter().filter(|p| *p != me).cloned().collect()
    }

    /// An empty payload for every other player.
    fn silent(&self) -> BTreeMap<NodeId, Vec<u8>> {
        self.others().into_iter().map(|p| (p, Vec::new())).collect()
    }

    /// A helper's round 0: its package to all, deltas for each target to
    /// every other helper.
    fn help(&mut self, share: &EddsaKeyShare) -> Result<RoundOutput, Fault> {
        let helpers = self
            .plan
            .helpers
            .iter()
            .map(|h| self.id_of(h))
            .collect::<Result<Vec<_>, _>>()?;
        // Every other helper gets a list with one delta per target (empty
        // when nobody is repaired, as in a plain removal).
        let mut outgoing: BTreeMap<NodeId, Vec<Zeroizing<Vec<u8>>>> = self
            .plan
            .helpers
            .iter()
            .filter(|h| *h != self.me())
            .map(|h| (h.clone(), Vec::new()))
            .collect();
        let mut own = Vec::new();
        for t in &self.plan.targets {
            let deltas = repair_share_part1::<Ed25519Sha512, _>(
                &helpers,
                &share.key_package,
                &mut rand::rngs::OsRng,
                self.id_of(t)?,
            )
            .map_err(frost_fault)?;
            for h in &self.plan.helpers {
                let d = deltas
                    .get(&self.id_of(h)?)
                    .ok_or_else(|| Fault::Local("no delta for a helper".into()))?;
                if h == self.me() {
                    own.push(*d);
                } else {
                    let list = outgoing
                        .get_mut(h)
                        .ok_or_else(|| Fault::Local("helper list".into()))?;
                    list.push(Zeroizing::new(d.serialize()));
                }
            }
        }
        self.own_deltas = own;
        let mut p2p = self.silent();
        for (h, deltas) in outgoing {
            let plain: Vec<&[u8]> = deltas.iter().map(|d| d.as_slice()).collect();
            p2p.insert(h, encode(&plain)?);
        }
        let package = share
            .public_package
            .serialize()
            .map_err(|e| Fault::Local(e.to_string()))?;
        Ok(RoundOutput {
            broadcast: Some(package),
            p2p,
        })
    }

    /// The package every helper broadcast; they must all be the same bytes,
    /// and describe this key.
    fn common_package(&self, input: &RoundInput) -> Result<PublicKeyPackage, Fault> {
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
        let package =
            PublicKeyPackage::deserialize(bytes).map_err(|e| Fault::malformed(from, e))?;
        let (public_key, threshold) = match &self.role {
            ReplaceRole::Helper(s) => (&s.info.public_key, s.info.threshold),
            ReplaceRole::Target(k) => (&k.public_key, k.threshold),
        };
        let wrong = |what: &str| Fault::Repair(RepairFailure::WrongPackage(what.into()));
        let key = package
            .verifying_key()
            .serialize()
            .map_err(|e| Fault::Local(e.to_string()))?;
        if key != *public_key {
            return Err(wrong("another group key"));
        }
        if package.min_signers().map(usize::from) != Some(threshold.signers()) {
            return Err(wrong("another threshold"));
        }
        Ok(package)
    }

    /// A helper's end of round 0: one sigma per target, sent to it.
    fn sigmas(&self, input: &RoundInput) -> Result<RoundOutput, Fault> {
        let mut per_target: Vec<Vec<Delta>> = self.own_deltas.iter().map(|d| vec![*d]).collect();
        for h in self.plan.helpers.iter().filter(|h| *h != self.me()) {
            let received: Vec<Vec<u8>> = decode(h, take(&input.p2p, h)?)?;
            let received = Zeroizing::new(received);
            if received.len() != per_target.len() {
                return Err(Fault::malformed(h, "wrong number of deltas"));
            }
            for (k, bytes) in received.iter().enumerate() {
                let d = Delta::deserialize(bytes).map_err(|e| Fault::malformed(h, e))?;
                per_target[k].push(d);
            }
        }
        let mut p2p = self.silent();
        for (t, deltas) in self.plan.targets.iter().zip(&per_target) {
            let sigma = repair_share_part2(deltas);
            #[allow(unused_mut)]
            let mut bytes = Zeroizing::new(sigma.serialize());
            #[cfg(debug_assertions)]
            if self.cheat {
                // Off by one in the lowest bit (little-endian scalar).
                bytes[0] ^= 1;
            }
            p2p.insert(t.clone(), bytes.to_vec());
        }
        Ok(RoundOutput {
            broadcast: None,
            p2p,
        })
    }

    /// A target's end of round 1: its repaired share.
    fn repaired(&self, key: &TargetKey, input: &RoundInput) -> Result<EddsaKeyShare, Fault> {
        let package = self
            .package
            .as_ref()
            .ok_or_else(|| Fault::Local("phase order".into()))?;
        let mut sigmas = Vec::new();
        for h in &self.plan.helpers {
            let bytes = take(&input.p2p, h)?;
            sigmas.push(Sigma::deserialize(bytes).map_err(|e| Fault::malformed(h, e))?);
        }
        let my_id = self.id_of(&key.me)?;
        let key_package = repair_share_part3(&sigmas, my_id, package).map_err(frost_fault)?;
        if let Some(expected) = package.verifying_shares().get(&my_id) {
            if expected != key_package.verifying_share() {
                let index = self
                    .plan
                    .committee
                    .index(&key.me)
                    .map_err(|e| Fault::Local(e.to_string()))?;
                return Err(Fault::Repair(RepairFailure::ShareMismatch { index }));
            }
        }
        let pk: [u8; 32] = key
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| Fault::Local("group key length".into()))?;
        Ok(EddsaKeyShare {
            info: ShareInfo {
                participants: self.plan.committee.ids().to_vec(),
                indices: self.plan.committee.indices().to_vec(),
                threshold: key.threshold,
                me: key.me.clone(),
                public_key: key.public_key.clone(),
                chain_code: master_chain_code(&pk),
                epoch: key.epoch,
            },
            key_package,
            public_package: package.clone(),
        })
    }

    /// End of round 1: everyone's share for the refresh, round 2 out.
    fn start_refresh(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        let (share, enrolled) = match &self.role {
            ReplaceRole::Target(key) => {
                let share = self.repaired(key, &input)?;
                let known = self.package.as_ref().is_some_and(|p| {
                    p.verifying_shares()
                        .contains_key(share.key_package.identifier())
                });
                let vs = share
                    .key_package
                    .verifying_share()
                    .serialize()
                    .map_err(|e| Fault::Local(e.to_string()))?;
                (share, (!known).then_some(vs))
            }
            ReplaceRole::Helper(share) => {
                let mut share = share.clone();
                share.info.participants = self.plan.committee.ids().to_vec();
                share.info.indices = self.plan.committee.indices().to_vec();
                (share, None)
            }
        };
        let mut refresh = EddsaRefresh::new(&self.config, &share)
            .map_err(|a| Fault::Local(format!("refresh after repair: {a}")))?;
        let out = refresh.start()?;
        self.refresh = Some(refresh);
        let commitment = out
            .broadcast
            .ok_or_else(|| Fault::Local("refresh round 0 without a broadcast".into()))?;
        Ok(RoundOutput::broadcast_only(encode(&(
            commitment, enrolled,
        ))?))
    }

    /// End of round 2: the package extended by every enrolled target's
    /// verifying share, and the refresh's round 0 input.
    fn enrol(&mut self, input: RoundInput) -> Result<RoundOutput, Fault> {
        let package = self
            .package
            .clone()
            .ok_or_else(|| Fault::Local("phase order".into()))?;
        let mut shares = package.verifying_shares().clone();
        let mut unwrapped = RoundInput::default();
        for p in self.plan.committee.ids() {
            let (commitment, enrolled): Round2 = decode(p, take(&input.broadcasts, p)?)?;
            unwrapped.broadcasts.insert(p.clone(), commitment);
            let id = self.id_of(p)?;
            let new = self.plan.is_target(p) && !package.verifying_shares().contains_key(&id);
            match (new, enrolled) {
                (false, None) => {}
                (true, Some(vs)) => {
                    let vs =
                        VerifyingShare::deserialize(&vs).map_err(|e| Fault::malformed(p, e))?;
                    shares.insert(id, vs);
                }
                _ => return Err(Fault::malformed(p, "enrolment share missing or unexpected")),
            }
        }
        let extended =
            PublicKeyPackage::new(shares, *package.verifying_key(), package.min_signers());
        let refresh = self
            .refresh
            .as_mut()
            .ok_or_else(|| Fault::Local("phase order".into()))?;
        refresh.set_old_package(extended);
        match refresh.finish_round(0, unwrapped)? {
            Step::Next(out) => Ok(out),
            Step::Done(_) => Err(Fault::Local("refresh ended early".into())),
        }
    }
}

impl RoundProtocol for EddsaReplace {
    type Output = EddsaKeyShare;

    fn rounds(&self) -> u16 {
        2 + refresh::ROUNDS
    }

    fn shape(&self, round: u16) -> RoundShape {
        match round {
            0 => RoundShape {
                broadcast: true,
                p2p: true,
            },
            1 => RoundShape {
                broadcast: false,
                p2p: true,
            },
            r => refresh::shape(r - 2),
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        match &self.role {
            ReplaceRole::Helper(share) => {
                let share = share.clone();
                self.help(&share)
            }
            ReplaceRole::Target(_) => Ok(RoundOutput {
                broadcast: Some(Vec::new()),
                p2p: self.silent(),
            }),
        }
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EddsaKeyShare>, Fault> {
        match round {
            0 => {
                self.package = Some(self.common_package(&input)?);
                if matches!(self.role, ReplaceRole::Helper(_)) {
                    self.sigmas(&input).map(Step::Next)
                } else {
                    Ok(Step::Next(RoundOutput {
                        broadcast: None,
                        p2p: self.silent(),
                    }))
                }
            }
            1 => self.start_refresh(input).map(Step::Next),
            2 => self.enrol(input).map(Step::Next),
            r => self
                .refresh
                .as_mut()
                .ok_or_else(|| Fault::Local("phase order".into()))?
                .finish_round(r - 2, input),
        }
    }
}
