//! The Consul client against a real agent: KV with CAS, locks, blocking queries,
//! sessions.

mod common;

use std::time::{Duration, Instant};

use common::{client, consul, prefix, within};
use tessera_registry::{BlockingQuery, SessionBehavior};
use tessera_testkit::wait::still_pending;

#[tokio::test]
async fn put_get_list_cas_delete() {
    let consul = consul().await;
    let c = client(&consul);
    let p = prefix("kv");
    let a = format!("{p}/dir/a");
    let b = format!("{p}/dir/b");
    within(10, async {
        assert_eq!(c.kv_get(&a).await.unwrap(), None);
        let (empty, index) = c.kv_list(&format!("{p}/dir/"), None).await.unwrap();
        assert!(empty.is_empty() && index > 0);

        assert!(c.kv_put(&a, b"\x00binary\xff", None).await.unwrap());
        assert!(c.kv_put(&b, b"two", None).await.unwrap());
        assert!(c.kv_put(&format!("{p}/other"), b"x", None).await.unwrap());
        let got = c.kv_get(&a).await.unwrap().unwrap();
        assert_eq!(got.key, a);
        assert_eq!(got.value, b"\x00binary\xff");
        assert_eq!(got.session, None);

        let (list, _) = c.kv_list(&format!("{p}/dir/"), None).await.unwrap();
        let keys: Vec<_> = list.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, [a.as_str(), b.as_str()]);

        // CAS: a stale index fails, the current one succeeds; 0 means "only if absent".
        let stale = got.modify_index;
        assert!(c.kv_put(&a, b"v2", Some(stale)).await.unwrap());
        assert!(!c.kv_put(&a, b"v3", Some(stale)).await.unwrap());
        assert!(!c.kv_put(&a, b"v3", Some(0)).await.unwrap());
        assert!(c.kv_put(&format!("{p}/new"), b"n", Some(0)).await.unwrap());
        let now = c.kv_get(&a).await.unwrap().unwrap();
        assert_eq!(now.value, b"v2");

        assert!(!c.kv_delete(&a, Some(stale)).await.unwrap());
        assert!(c.kv_delete(&a, Some(now.modify_index)).await.unwrap());
        assert_eq!(c.kv_get(&a).await.unwrap(), None);
        assert!(c.kv_delete(&b, None).await.unwrap());
        c.kv_delete_prefix(&format!("{p}/")).await.unwrap();
        assert!(c
            .kv_list(&format!("{p}/"), None)
            .await
            .unwrap()
            .0
            .is_empty());
    })
    .await;
}

#[tokio::test]
async fn locks_and_sessions() {
    let consul = consul().await;
    let c = client(&consul);
    let key = format!("{}/lock", prefix("lock"));
    within(10, async {
        let ttl = Duration::from_secs(10);
        let s1 = c
            .session_create("one", ttl, SessionBehavior::Release)
            .await
            .unwrap();
        let s2 = c
            .session_create("two", ttl, SessionBehavior::Delete)
            .await
            .unwrap();
        assert_ne!(s1, s2);

        assert!(c.kv_acquire(&key, b"one", &s1).await.unwrap());
        assert!(
            !c.kv_acquire(&key, b"two", &s2).await.unwrap(),
            "second session took a held lock"
        );
        let held = c.kv_get(&key).await.unwrap().unwrap();
        assert_eq!(held.session.as_ref(), Some(&s1));
        assert_eq!(held.value, b"one");

        assert!(
            !c.kv_release(&key, &s2).await.unwrap(),
            "non-holder released"
        );
        assert!(c.kv_release(&key, &s1).await.unwrap());
        assert_eq!(c.kv_get(&key).await.unwrap().unwrap().session, None);
        // LockDelay is 0: the other session takes it at once.
        assert!(c.kv_acquire(&key, b"two", &s2).await.unwrap());

        // Renew works until destroy; destroying a `delete` session deletes its keys.
        assert!(c.session_renew(&s2).await.unwrap());
        c.session_destroy(&s2).await.unwrap();
        assert!(!c.session_renew(&s2).await.unwrap());
        assert_eq!(c.kv_get(&key).await.unwrap(), None);
        c.session_destroy(&s1).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn blocking_query_returns_promptly_on_change() {
    let consul = consul().await;
    let c = client(&consul);
    let dir = format!("{}/watch/", prefix("blocking"));
    within(20, async {
        let (_, index) = c.kv_list(&dir, None).await.unwrap();

        // Nothing changes: Consul holds the request for about `wait`.
        let quiet = Instant::now();
        let (_, same) = c
            .kv_list(
                &dir,
                Some(BlockingQuery {
                    index,
                    wait: Duration::from_millis(500),
                }),
            )
            .await
            .unwrap();
        let held = quiet.elapsed();
        assert!(
            held >= Duration::from_millis(400),
            "returned after {held:?}"
        );
        assert_eq!(same, index);

        // A write under the prefix wakes a 10 s blocking read at once.
        let mut watcher = {
            let c = c.clone();
            let dir = dir.clone();
            tokio::spawn(async move {
                let r = c
                    .kv_list(
                        &dir,
                        Some(BlockingQuery {
                            index,
                            wait: Duration::from_secs(10),
                        }),
                    )
                    .await;
                (r, Instant::now())
            })
        };
        // Must not happen: the blocking read returning before anything was
        // written (this window also lets it reach Consul and park there).
        assert!(
            still_pending(Duration::from_millis(300), &mut watcher).await,
            "the blocking read returned before the write"
        );
        let written = Instant::now();
        assert!(c.kv_put(&format!("{dir}k"), b"v", None).await.unwrap());
        let (result, woke) = watcher.await.unwrap();
        let (entries, new_index) = result.unwrap();
        let latency = woke - written;
        eprintln!("blocking query woke {latency:?} after the write");
        assert!(latency < Duration::from_secs(1), "took {latency:?}");
        assert!(new_index > index);
        assert_eq!(entries.len(), 1);
    })
    .await;
}
