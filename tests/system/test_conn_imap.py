"""Issue 6: the imap connector against a real Dovecot.

Each test starts its own throwaway Dovecot (tests/system/dovecot.py:
IMAPS on 127.0.0.1, a test CA, one user, a Maildir written directly) and
runs the connector through `$BUILD/tests/tools/fetch-run imap CONFIG
[CURSOR]` with the credential in FETCH_CREDENTIAL.  No Ballast suite is
needed: the tests take the suite argument run.py passes and ignore it.
Tests skip (pass with a note) when dovecot is not installed.
"""
import json
import os
import subprocess

import dovecot
import harness

SUITE = False

FETCH_RUN = os.path.join(harness.BUILD, "tests", "tools", "fetch-run")

MSG1 = ("From: Ann Example <ann@example.org>\r\n"
        "To: team@example.org\r\n"
        "Subject: =?UTF-8?B?UXVhcnRlcmx5IHLDqXN1bcOp?=\r\n"
        "Date: Mon, 2 Jan 2006 15:04:05 -0700\r\n"
        "Message-ID: <q1@example.org>\r\n"
        "\r\n"
        "The zorbulent widget shipped on time.\r\n")

MSG2 = ("From: =?iso-8859-1?Q?Andr=E9?= <andre@example.be>\r\n"
        "Subject: Menu\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
        "\r\n"
        "--alt\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        "<p>html version</p>\r\n"
        "--alt\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Caf=E9 cr=E8me on Friday.\r\n"
        "--alt--\r\n")

MSG3 = ("From: Bob <bob@example.org>\r\n"
        "Subject: Late arrival\r\n"
        "\r\n"
        "Delivered after the first run.\r\n")


def skip_without_dovecot():
    if not dovecot.installed():
        print("     (skipped: dovecot is not installed; scripts/deps installs it)")
        return True
    return False


def env_with(cred, leaks=True):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "FETCH_CREDENTIAL": json.dumps(cred)}
    if harness.SAN:
        env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=%d" % leaks
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


def fetch(d, cred=dovecot.PASSWORD, cursor=None, leaks=True, **conf):
    config = {"host": "127.0.0.1", "port": d.port, "username": dovecot.USER,
              "ca_file": d.ca, "timeout": 20}
    config.update(conf)
    config = {k: v for k, v in config.items() if v is not None}
    argv = [FETCH_RUN, "imap", json.dumps(config)]
    if cursor is not None:
        argv.append(cursor)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       env=env_with(cred, leaks))
    for mark in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert mark not in r.stderr, "sanitizer report:\n" + r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    out = {"rc": r.returncode, "docs": {}, "keeps": [], "done": None,
           "error": None, "invalid": None, "raw": r.stdout + r.stderr}
    for x in lines:
        if "doc" in x:
            out["docs"][x["doc"]["external_id"]] = x["doc"]
        elif "keep" in x:
            out["keeps"].append(x["keep"])
        elif "done" in x:
            out["done"] = x["done"]
        elif "error" in x:
            out["error"] = x["error"]
        elif "invalid" in x:
            out["invalid"] = x["invalid"]
    return out


def by_title(docs):
    return {d["title"]: d for d in docs.values()}


def test_sync_keep_delete(suite):
    if skip_without_dovecot():
        return
    with dovecot.Dovecot() as d:
        f1 = d.deliver(MSG1)
        d.deliver(MSG2)

        first = fetch(d)
        assert first["rc"] == 0 and first["done"], first["raw"]
        assert first["keeps"] == [], first["raw"]
        docs = by_title(first["docs"])
        assert set(docs) == {"Quarterly r\u00e9sum\u00e9", "Menu"}, docs.keys()
        q = docs["Quarterly r\u00e9sum\u00e9"]
        assert q["text"] == "The zorbulent widget shipped on time.\n", q
        assert q["metadata"]["from"] == "Ann Example <ann@example.org>"
        assert q["metadata"]["to"] == "team@example.org"
        assert q["metadata"]["message_id"] == "<q1@example.org>"
        assert q["metadata"]["mailbox"] == "INBOX"
        assert q["updated_at"] == "2006-01-02T22:04:05Z", q
        assert dovecot.PASSWORD not in q["url"] and q["url"].startswith("imaps://")
        menu = docs["Menu"]
        assert menu["text"] == "Caf\u00e9 cr\u00e8me on Friday.", menu
        assert menu["metadata"]["from"] == "Andr\u00e9 <andre@example.be>"
        validity, high = first["done"]["cursor"].split(":")
        assert int(high) == max(int(i.split(":")[1]) for i in first["docs"])
        assert all(i.startswith(validity + ":") for i in first["docs"])
        assert first["done"]["complete"] is True

        # the connector examines the mailbox read-only: nothing became \Seen
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(d.maildir, sub)):
                assert ":2," not in name or "S" not in name.split(":2,")[1], name

        # second run: old ones kept, the new one fetched
        d.deliver(MSG3)
        second = fetch(d, cursor=first["done"]["cursor"])
        assert second["rc"] == 0, second["raw"]
        assert sorted(second["keeps"]) == sorted(first["docs"]), second["raw"]
        assert [x["title"] for x in second["docs"].values()] == ["Late arrival"]
        new_id = list(second["docs"])[0]
        assert new_id not in first["docs"]
        assert second["done"]["complete"] is True
        assert int(second["done"]["cursor"].split(":")[1]) == int(new_id.split(":")[1])

        # a deleted message is simply absent from a complete run
        d.remove(f1)
        third = fetch(d, cursor=second["done"]["cursor"])
        assert third["rc"] == 0, third["raw"]
        assert third["docs"] == {}, third["raw"]
        q_id = [i for i, x in first["docs"].items() if x["title"].startswith("Quarterly")][0]
        assert q_id not in third["keeps"], third["raw"]
        assert len(third["keeps"]) == 2, third["raw"]
        assert third["done"]["complete"] is True
        assert third["done"]["cursor"] == second["done"]["cursor"]

        # a cursor of another UIDVALIDITY (or a foreign one): all new again
        fresh = fetch(d, cursor="12345:99999")
        assert fresh["rc"] == 0 and fresh["keeps"] == [], fresh["raw"]
        assert len(fresh["docs"]) == 2, fresh["raw"]


def test_empty_mailbox_and_config(suite):
    if skip_without_dovecot():
        return
    with dovecot.Dovecot() as d:
        r = fetch(d)
        assert r["rc"] == 0 and r["docs"] == {} and r["keeps"] == [], r["raw"]
        assert r["done"]["cursor"].endswith(":0") and r["done"]["complete"] is True
        r = fetch(d, mailbox="Nope")
        assert r["rc"] == 1 and "could not open mailbox" in r["error"]["message"], r["raw"]
        assert r["error"]["transient"] is False
        for bad, member in (({"auth": "kerberos"}, "config.auth"),
                            ({"ca_file": "relative.pem"}, "config.ca_file"),
                            ({"port": 0}, "config.port"),
                            ({"host": "a/b"}, "config.host"),
                            ({"mailbox": "a\r\nb"}, "config.mailbox"),
                            ({"extra": 1}, "config.extra")):
            # fetch-run itself does not free the config it refuses
            r = fetch(d, leaks=False, **bad)
            assert r["rc"] == 2 and r["invalid"].startswith(member), (bad, r["raw"])


def test_wrong_password(suite):
    if skip_without_dovecot():
        return
    with dovecot.Dovecot() as d:
        d.deliver(MSG1)
        wrong = "not-the-pass-Zq9"
        r = fetch(d, cred=wrong)
        assert r["rc"] == 1, r["raw"]
        assert r["error"]["message"] == "the IMAP server refused the login", r["raw"]
        assert r["error"]["transient"] is False
        assert wrong not in r["raw"] and dovecot.PASSWORD not in r["raw"]
        # a credential that is not a JSON string
        r = fetch(d, cred={"password": dovecot.PASSWORD})
        assert r["rc"] == 1 and "must be a non-empty string" in r["error"]["message"]
        assert dovecot.PASSWORD not in r["raw"]


def test_xoauth2(suite):
    if skip_without_dovecot():
        return
    with dovecot.Dovecot() as d:
        d.deliver(MSG1)
        r = fetch(d, cred=dovecot.TOKEN, auth="xoauth2")
        assert r["rc"] == 0, r["raw"]
        assert [x["title"] for x in r["docs"].values()] == ["Quarterly r\u00e9sum\u00e9"]
        # the password is not a token, the token not a password
        r = fetch(d, cred=dovecot.PASSWORD, auth="xoauth2")
        assert r["rc"] == 1 and "refused the login" in r["error"]["message"], r["raw"]
        r = fetch(d, cred=dovecot.TOKEN)
        assert r["rc"] == 1 and "refused the login" in r["error"]["message"], r["raw"]
        assert dovecot.TOKEN not in r["raw"]


def test_tls_verification(suite):
    if skip_without_dovecot():
        return
    with dovecot.Dovecot() as d:
        d.deliver(MSG1)
        # a CA that did not sign the server's certificate
        r = fetch(d, ca_file=d.other_ca)
        assert r["rc"] == 1, r["raw"]
        assert r["error"]["message"].startswith("imap: TLS:"), r["raw"]
        assert r["error"]["transient"] is False
        assert r["docs"] == {}
        # no ca_file: the system roots do not know the test CA either
        r = fetch(d, ca_file=None)
        assert r["rc"] == 1 and r["error"]["message"].startswith("imap: TLS:"), r["raw"]
        # the certificate names localhost and 127.0.0.1: both verify
        r = fetch(d, host="localhost")
        assert r["rc"] == 0 and len(r["docs"]) == 1, r["raw"]
        # nothing listening: transient
        r = fetch(d, port=harness.free_port())
        assert r["rc"] == 1 and r["error"]["transient"] is True, r["raw"]
