//! FROST distributed key generation as two Tessera rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | broadcast: commitment + proof of knowledge | `dkg::part1` |
//! | 1 | p2p: secret share for each party | `dkg::part2` |
//! | end | | `dkg::part3` (after checking round 0's echoes) |

use std::collections::BTreeMap;

use frost_ed25519::keys::dkg::{self, round1, round2};
use frost_ed25519::Identifier;
use tessera_types::{NodeId, SessionConfig};

use super::{dkg_io, fault, identifier, EddsaKeyShare};
use crate::derive::ed25519::master_chain_code;
use crate::error::Abort;
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::share_info::ShareInfo;

/// One participant's side of an EdDSA keygen.
pub struct EddsaKeygen {
    config: SessionConfig,
    me: NodeId,
    parties: Parties,
    my_id: Identifier,
    secret1: Option<round1::SecretPackage>,
    secret2: Option<round2::SecretPackage>,
    packages1: BTreeMap<Identifier, round1::Package>,
}

impl std::fmt::Debug for EddsaKeygen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EddsaKeygen").field("me", &self.me).finish()
    }
}

impl EddsaKeygen {
    pub fn new(config: SessionConfig, me: NodeId) -> Result<Self, Abort> {
        config
            .threshold
            .check(config.players().len())
            .map_err(|e| Abort::Config(e.to_string()))?;
        let parties = Parties::new(config.players().to_vec())?;
        let my_id = identifier(parties.index(&me)?).map_err(|f| Abort::from_fault(f, 0))?;
        Ok(Self {
            config,
            me,
            parties,
            my_id,
            secret1: None,
            secret2: None,
            packages1: BTreeMap::new(),
        })
    }
}

impl RoundProtocol for EddsaKeygen {
    type Output = EddsaKeyShare;

    fn rounds(&self) -> u16 {
        2
    }

    fn shape(&self, round: u16) -> RoundShape {
        RoundShape {
            broadcast: round == 0,
            p2p: round == 1,
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let n = self.parties.len() as u16;
        let min = self.config.threshold.signers() as u16;
        let (secret, package) = dkg::part1(self.my_id, n, min, rand::rngs::OsRng)
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
                self.packages1 = dkg_io::read_round1(&self.parties, &self.me, &input)?;
                let secret = self
                    .secret1
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (secret2, packages) =
                    dkg::part2(secret, &self.packages1).map_err(|e| fault(e, &self.parties))?;
                self.secret2 = Some(secret2);
                Ok(Step::Next(dkg_io::write_round2(
                    &self.parties,
                    &self.me,
                    &packages,
                )?))
            }
            1 => {
                let packages2 = dkg_io::read_round2(&self.parties, &self.me, &input)?;
                let secret = self
                    .secret2
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let (key_package, public_package) =
                    dkg::part3(&secret, &self.packages1, &packages2)
                        .map_err(|e| fault(e, &self.parties))?;
                let pk_bytes = public_package
                    .verifying_key()
                    .serialize()
                    .map_err(|e| Fault::Local(e.to_string()))?;
                let pk: [u8; 32] = pk_bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| Fault::Local("group key length".into()))?;
                let info = ShareInfo {
                    participants: self.parties.ids().to_vec(),
                    threshold: self.config.threshold,
                    me: self.me.clone(),
                    public_key: pk.to_vec(),
                    chain_code: master_chain_code(&pk),
                    epoch: 0,
                    indices: self.parties.indices().to_vec(),
                };
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
