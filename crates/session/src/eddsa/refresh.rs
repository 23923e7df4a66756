//! FROST's refresh by DKG (`refresh_dkg_part1/2/shares`) as two Tessera
//! rounds, run by every holder of the key.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | broadcast: commitment to a zero-constant polynomial | `refresh_dkg_part1` |
//! | 1 | p2p: refreshing share for each party | `refresh_dkg_part2` |
//! | end | | `refresh_dkg_shares` (after checking round 0's echoes) |
//!
//! The library does not check round-1 proofs of knowledge here and leaves
//! round-1 consistency to the caller: the driver's echo check gives it. The
//! group key, chain code and threshold stay; every holder stays (leaving one
//! out would remove it, which is not what a refresh does here).

use std::collections::BTreeMap;

use frost_ed25519::keys::dkg::{round1, round2};
use frost_ed25519::keys::refresh;
use frost_ed25519::{Error as FrostError, Identifier};
use tessera_types::SessionConfig;

use super::{dkg_io, fault, identifier_of, EddsaKeyShare};
use crate::error::Abort;
use crate::lifecycle::{next_epoch, refresh_parties};
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};

/// Number of rounds (a replace runs them after its repair rounds).
pub(super) const ROUNDS: u16 = 2;

/// What round `round` carries.
pub(super) fn shape(round: u16) -> RoundShape {
    RoundShape {
        broadcast: round == 0,
        p2p: round == 1,
    }
}

/// One holder's side of an EdDSA share refresh.
pub struct EddsaRefresh {
    share: EddsaKeyShare,
    parties: Parties,
    my_id: Identifier,
    secret1: Option<round1::SecretPackage>,
    secret2: Option<round2::SecretPackage>,
    packages1: BTreeMap<Identifier, round1::Package>,
}

impl std::fmt::Debug for EddsaRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EddsaRefresh")
            .field("me", &self.share.info.me)
            .finish()
    }
}

impl EddsaRefresh {
    /// `config.players` must be every holder of `share`'s key, with its threshold.
    pub fn new(config: &SessionConfig, share: &EddsaKeyShare) -> Result<Self, Abort> {
        let parties = refresh_parties(config, &share.info)?;
        let my_id = identifier_of(&parties, &share.info.me).map_err(|f| Abort::from_fault(f, 0))?;
        Ok(Self {
            share: share.clone(),
            parties,
            my_id,
            secret1: None,
            secret2: None,
            packages1: BTreeMap::new(),
        })
    }

    /// Replaces the package the refresh starts from (a replace extends it
    /// with enrolled identifiers before the refresh's last round).
    pub(super) fn set_old_package(&mut self, package: frost_ed25519::keys::PublicKeyPackage) {
        self.share.public_package = package;
    }

    /// A refreshing share that fails its VSS check: `refresh_dkg_shares`
    /// does not say whose it was (unlike `dkg::part3`), so nobody is named.
    fn share_fault(&self, e: FrostError) -> Fault {
        match e {
            FrostError::InvalidSecretShare { culprit: None } => Fault::Cheating {
                culprits: Vec::new(),
                ban: false,
                detail: format!("{e} (the library does not name the sender)"),
            },
            other => fault(other, &self.parties),
        }
    }
}

impl RoundProtocol for EddsaRefresh {
    type Output = EddsaKeyShare;

    fn rounds(&self) -> u16 {
        ROUNDS
    }

    fn shape(&self, round: u16) -> RoundShape {
        shape(round)
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let n = u16::try_from(self.parties.len())
            .map_err(|_| Fault::Local("too many parties".into()))?;
        let min = *self.share.key_package.min_signers();
        let (secret, package) = refresh::refresh_dkg_part1(self.my_id, n, min, rand::rngs::OsRng)
            .map_err(|e| fault(e, &self.parties))?;
        self.secret1 = Some(secret);
        Ok(RoundOutput::broadcast_only(
            package
                .serialize()
                .map_err(|e| Fault::Local(e.to_string()))?,
        ))
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EddsaKeyShare>, Fault> {
        match round {
            0 => {
                self.packages1 = dkg_io::read_round1(&self.parties, &self.share.info.me, &input)?;
                let secret = self
                    .secret1
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (secret2, packages) = refresh::refresh_dkg_part2(secret, &self.packages1)
                    .map_err(|e| fault(e, &self.parties))?;
                self.secret2 = Some(secret2);
                Ok(Step::Next(dkg_io::write_round2(
                    &self.parties,
                    &self.share.info.me,
                    &packages,
                )?))
            }
            1 => {
                let packages2 = dkg_io::read_round2(&self.parties, &self.share.info.me, &input)?;
                let secret = self
                    .secret2
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (key_package, public_package) = refresh::refresh_dkg_shares(
                    &secret,
                    &self.packages1,
                    &packages2,
                    self.share.public_package.clone(),
                    self.share.key_package.clone(),
                )
                .map_err(|e| self.share_fault(e))?;
                if public_package.verifying_key() != self.share.public_package.verifying_key() {
                    return Err(Fault::Local("refresh moved the key".into()));
                }
                let info = next_epoch(&self.share.info).map_err(|a| Fault::Local(a.to_string()))?;
                Ok(Step::Done(EddsaKeyShare {
                    info,
                    key_package,
                    public_package,
                }))
            }
            _ => Err(Fault::Local(format!("no round {round}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_types::{NodeId, SessionId, Threshold};

    use super::*;
    use crate::eddsa::EddsaKeygen;
    use crate::simulator::{run, sessions, Faults};

    /// Later repairs check shares against the package, so every holder must
    /// end with the same package, whose verifying shares match the refreshed
    /// key packages, with the key and threshold unchanged.
    #[test]
    fn refreshed_public_package_matches_every_refreshed_share() {
        let ids: Vec<NodeId> = (0..4)
            .map(|i| NodeId::new(format!("n{i}")).unwrap())
            .collect();
        let cfg = |sid: &str| {
            SessionConfig::new(SessionId::new(sid).unwrap(), ids.clone(), Threshold(2)).unwrap()
        };
        let kg = cfg("kg");
        let old = run(
            sessions(&kg, |me| EddsaKeygen::new(kg.clone(), me.clone())).unwrap(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap();
        let rf = cfg("rf");
        let new = run(
            sessions(&rf, |me| EddsaRefresh::new(&rf, &old[me])).unwrap(),
            &Faults::default(),
        )
        .into_outputs()
        .unwrap();
        let package = &new[&ids[0]].public_package;
        let before = &old[&ids[0]].public_package;
        assert_eq!(package.verifying_key(), before.verifying_key());
        assert_eq!(package.min_signers(), before.min_signers());
        assert_eq!(package.verifying_shares().len(), ids.len());
        for (id, share) in &new {
            assert_eq!(&share.public_package, package, "{id} holds another package");
            let me = share.key_package.identifier();
            assert_eq!(
                package.verifying_shares().get(me),
                Some(share.key_package.verifying_share()),
                "{id}'s verifying share"
            );
            assert_ne!(
                before.verifying_shares().get(me),
                Some(share.key_package.verifying_share()),
                "{id}'s share did not move"
            );
        }
    }
}
