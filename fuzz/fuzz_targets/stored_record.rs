//! Records the share store reads back from disk or from a backup file. A
//! damaged or hostile database must give a typed error, never a panic.
//!
//! The first byte picks the decoder (the seeds in `corpus/stored_record`
//! cover each):
//! - 0: a sealed share record (`tessera_security::at_rest`): `inspect`, then
//!   `AtRestKey::open` with a key-file key. (Password records are left out:
//!   their header names the Argon2id cost, which would make each run slow.)
//! - 1: key metadata JSON; whatever decodes must encode and decode to itself.
//! - 2: a stored request result.
//! - 3: a backup's decrypted body: decoded and checked as restore does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_fuzz::{share_key, SHARE_RECORD_ID, SHARE_RECORD_VERSION};
use tessera_security::at_rest;
use tessera_storage::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let kdf = at_rest::inspect(rest);
            let opened = share_key().open(SHARE_RECORD_ID, SHARE_RECORD_VERSION, rest);
            match (&kdf, &opened) {
                (Err(_), Ok(_)) => panic!("a record that fails inspect opened"),
                (_, Ok(plain)) => assert_eq!(plain.len() + at_rest::HEADER_LEN + 16, rest.len()),
                (_, Err(e)) => {
                    let _ = (e.code(), e.to_string());
                }
            }
        }
        1 => {
            if let Ok(meta) = fuzzing::decode_metadata(rest) {
                let json = serde_json::to_vec(&meta).unwrap();
                let again = fuzzing::decode_metadata(&json).expect("re-encoded metadata");
                assert_eq!(again, meta);
            }
        }
        2 => {
            if let Ok(r) = fuzzing::decode_result_record(rest) {
                assert_eq!(r.result_json.len() + 40, rest.len());
                assert_eq!(&r.result_json[..], &rest[40..]);
            }
        }
        _ => match fuzzing::decode_backup_body(rest) {
            Ok((keys, shares, _)) => assert!(keys <= shares),
            Err(e) => {
                let _ = (e.code(), e.to_string());
            }
        },
    }
});
