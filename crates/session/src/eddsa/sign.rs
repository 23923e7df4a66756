//! FROST signing without a coordinator, as two Tessera rounds.
//!
//! | round | sends | library step |
//! |---|---|---|
//! | 0 | broadcast: nonce commitments | `round1::commit` |
//! | 1 | broadcast: signature share | `round2::sign` over the common `SigningPackage` |
//! | end | | `aggregate` (after the echo round; names bad shares), then `verify_strict` |
//!
//! Every signer aggregates, so every signer can return (and check) the signature.

use std::collections::BTreeMap;

use frost_ed25519::keys::{KeyPackage, PublicKeyPackage};
use frost_ed25519::round1::{self, SigningCommitments, SigningNonces};
use frost_ed25519::round2::{self, SignatureShare};
use frost_ed25519::SigningPackage;
use tessera_types::{NodeId, SessionConfig};

use super::{fault, identifier_of, EddsaKeyShare};
use crate::codec::take;
use crate::derive::DerivationPath;
use crate::error::Abort;
use crate::parties::Parties;
use crate::round::{Fault, RoundInput, RoundOutput, RoundProtocol, RoundShape, Step};
use crate::verify::verify_ed25519;

/// A finished Ed25519 signature (R || S).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EddsaSignature {
    pub signature: [u8; 64],
    /// The key it verifies under (the child key when a path was given).
    pub public_key: [u8; 32],
}

/// One signer's side of an EdDSA signing session.
pub struct EddsaSign {
    me: NodeId,
    parties: Parties,
    signers: Vec<NodeId>,
    message: Vec<u8>,
    key_package: KeyPackage,
    public_package: PublicKeyPackage,
    public_key: [u8; 32],
    nonces: Option<SigningNonces>,
    signing_package: Option<SigningPackage>,
}

impl std::fmt::Debug for EddsaSign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EddsaSign").field("me", &self.me).finish()
    }
}

impl EddsaSign {
    /// `config.players` are the signers (at least `t + 1` participants of the key).
    /// `message` is signed as is, whatever its length.
    pub fn new(
        config: &SessionConfig,
        share: &EddsaKeyShare,
        message: &[u8],
        path: &DerivationPath,
    ) -> Result<Self, Abort> {
        let parties = share.info.parties()?;
        let needed = share.info.threshold.signers();
        if config.players().len() < needed {
            return Err(Abort::SignerCount {
                expected: needed,
                got: config.players().len(),
            });
        }
        for p in config.players() {
            parties.index(p)?;
        }
        if !config.is_player(&share.info.me) {
            return Err(Abort::NotAParticipant(share.info.me.clone()));
        }
        let (key_package, public_package, public_key) = share.tweaked(path)?;
        Ok(Self {
            me: share.info.me.clone(),
            parties,
            signers: config.players().to_vec(),
            message: message.to_vec(),
            key_package,
            public_package,
            public_key,
            nonces: None,
            signing_package: None,
        })
    }

    fn collect<T>(
        &self,
        input: &RoundInput,
        parse: impl Fn(&[u8]) -> Result<T, frost_ed25519::Error>,
    ) -> Result<BTreeMap<frost_ed25519::Identifier, T>, Fault> {
        let mut out = BTreeMap::new();
        for p in &self.signers {
            let v = parse(take(&input.broadcasts, p)?).map_err(|e| Fault::malformed(p, e))?;
            out.insert(identifier_of(&self.parties, p)?, v);
        }
        Ok(out)
    }
}

impl RoundProtocol for EddsaSign {
    type Output = EddsaSignature;

    fn rounds(&self) -> u16 {
        2
    }

    fn shape(&self, _round: u16) -> RoundShape {
        RoundShape {
            broadcast: true,
            p2p: false,
        }
    }

    fn start(&mut self) -> Result<RoundOutput, Fault> {
        let (nonces, commitments) =
            round1::commit(self.key_package.signing_share(), &mut rand::rngs::OsRng);
        self.nonces = Some(nonces);
        Ok(RoundOutput::broadcast_only(
            commitments
                .serialize()
                .map_err(|e| Fault::Local(e.to_string()))?,
        ))
    }

    fn finish_round(
        &mut self,
        round: u16,
        input: RoundInput,
    ) -> Result<Step<EddsaSignature>, Fault> {
        match round {
            0 => {
                let commitments = self.collect(&input, SigningCommitments::deserialize)?;
                let package = SigningPackage::new(commitments, &self.message);
                let nonces = self
                    .nonces
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let share = round2::sign(&package, &nonces, &self.key_package)
                    .map_err(|e| fault(e, &self.parties))?;
                self.signing_package = Some(package);
                Ok(Step::Next(RoundOutput::broadcast_only(share.serialize())))
            }
            1 => {
                let shares = self.collect(&input, SignatureShare::deserialize)?;
                let package = self
                    .signing_package
                    .take()
                    .ok_or_else(|| Fault::Local("phase order".into()))?;
                let sig = frost_ed25519::aggregate(&package, &shares, &self.public_package)
                    .map_err(|e| fault(e, &self.parties))?;
                let bytes = sig.serialize().map_err(|e| Fault::Local(e.to_string()))?;
                let signature: [u8; 64] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| Fault::Local("signature length".into()))?;
                if !verify_ed25519(&self.public_key, &self.message, &signature) {
                    return Err(Fault::InvalidSignature);
                }
                Ok(Step::Done(EddsaSignature {
                    signature,
                    public_key: self.public_key,
                }))
            }
            _ => Err(Fault::Local(format!("no round {round}"))),
        }
    }
}
