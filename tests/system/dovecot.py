"""A throwaway Dovecot IMAP server for the imap connector's tests.

Started as root with its own configuration file (dovecot -F -c FILE) in
a folder under harness.test_base(): IMAPS only, on 127.0.0.1 and a free
port, with a certificate signed by a CA made here (and a second, unrelated
CA for the mismatch test), one user in a passwd-file, mail in a Maildir
owned by "nobody", logs to a file, nothing in syslog or /etc/dovecot.

    with Dovecot() as d:
        d.deliver("Subject: hi\\r\\n\\r\\nbody\\r\\n")

XOAUTH2: Dovecot's xoauth2 mechanism checks the bearer token as the
password of a passdb; a second passwd-file limited to that mechanism
holds the token, so no OAuth2 server is needed.
"""
import os
import pwd
import grp
import shutil
import subprocess
import tempfile
import time

import harness
from test_pg_tls import make_ca, make_server_cert  # noqa: E402

USER = "mailer"
PASSWORD = "imap pass w0rd"
TOKEN = "ya29.test-access-token-0123456789"


CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{d}/server.crt
ssl_key = <{d}/server.key
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {uid}
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
  mechanisms = plain login
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/tokens
  mechanisms = xoauth2
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
"""


def installed():
    return shutil.which("dovecot") is not None or os.path.exists("/usr/sbin/dovecot")


class Dovecot:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dovecot-", dir=harness.test_base())
        os.chmod(self.dir, 0o755)
        self.port = harness.free_port()
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other")
        make_server_cert(self.dir)
        self.uid = pwd.getpwnam("nobody").pw_uid
        self.gid = grp.getgrnam("nogroup").gr_gid
        self.maildir = os.path.join(self.dir, "mail", USER)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        os.makedirs(os.path.join(self.dir, "home", USER))
        self._own(os.path.join(self.dir, "mail"))
        self._own(os.path.join(self.dir, "home"))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.dir, port=self.port, uid=self.uid, gid=self.gid))
        for name, secret in (("passwd", PASSWORD), ("tokens", TOKEN)):
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write("%s:{PLAIN}%s::::::\n" % (USER, secret))
            os.chmod(path, 0o600)
            # the auth process reads it as default_internal_user
            os.chown(path, pwd.getpwnam("dovecot").pw_uid, -1)
        self.log = os.path.join(self.dir, "dovecot.log")
        self.proc = None
        self.seq = 0

    def _own(self, top):
        for root, dirs, files in os.walk(top):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.chown(n, self.uid, self.gid)

    def start(self):
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log + ".stderr", "wb"))
        harness.wait_for(self._listening, 10, what="dovecot on port %d" % self.port)
        return self

    def _listening(self):
        import socket
        if self.proc.poll() is not None:
            raise AssertionError("dovecot exited with %s:\n%s" %
                                 (self.proc.returncode, self.log_text()))
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
            return True
        except OSError:
            return False

    def deliver(self, text):
        """Puts one message in the Maildir's new/; its file name."""
        self.seq += 1
        name = "%d.M%dP%d.ballast-test" % (int(time.time()), self.seq, os.getpid())
        tmp = os.path.join(self.maildir, "tmp", name)
        data = text.encode("utf-8") if isinstance(text, str) else text
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return name

    def remove(self, name):
        """Deletes a delivered message, wherever Dovecot moved it."""
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, sub)
            for f in os.listdir(d):
                if f == name or f.startswith(name + ":"):
                    os.unlink(os.path.join(d, f))
                    return
        raise AssertionError("no message %s in %s" % (name, self.maildir))

    def log_text(self):
        out = ""
        for p in (self.log, self.log + ".stderr"):
            try:
                with open(p, "rb") as f:
                    out += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if os.environ.get("KEEP_TEST_DIRS") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
