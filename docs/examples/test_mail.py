"""Mail tests with Python's standard library only (unittest, smtplib, urllib) against ims-relay.

Run from a folder where `npm install ims-relay` was done:  python3 -m unittest test_mail.py
(IMS_RELAY_CMD names another command, e.g. "node path/to/bin/ims-relay.js").
"""
import json
import os
import shlex
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from email.message import EmailMessage


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smtp_port, cls.http_port = free_port(), free_port()
        cls.spool = tempfile.TemporaryDirectory()
        command = shlex.split(os.environ.get("IMS_RELAY_CMD", "npx ims-relay"))
        cls.relay = subprocess.Popen(
            command
            + ["serve", "--smtp", f"127.0.0.1:{cls.smtp_port}", "--http", f"127.0.0.1:{cls.http_port}"]
            + ["--spool", cls.spool.name, "--mode", "capture", "--max-recipients", "2"]
            + ["--smtp-rule", "rcpt:*@nouser.test=550 5.1.1 User unknown"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:  # ready when the HTTP API answers /readyz
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{cls.http_port}/readyz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or cls.relay.poll() is not None:
                    raise
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.relay.terminate()
        cls.relay.wait(15)
        cls.spool.cleanup()

    def wait_for_mail(self, **query):
        query["timeout"] = "10s"
        url = f"http://127.0.0.1:{self.http_port}/api/v1/mail/wait?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=15) as response:
            return json.load(response)

    def test_the_welcome_mail_arrives(self):
        message = EmailMessage()
        message["From"] = "app@example.test"
        message["To"] = "new.user@example.test"
        message["Subject"] = "Welcome"
        message["X-Ims-Relay-Tag"] = "py-welcome"  # this test's mail only
        message.set_content("Hello!")
        with smtplib.SMTP("127.0.0.1", self.smtp_port) as smtp:
            smtp.send_message(message)
        mail = self.wait_for_mail(tag="py-welcome")
        self.assertEqual(mail["subject"], "Welcome")
        self.assertEqual(mail["recipients"], ["new.user@example.test"])

    def test_recipients_past_the_limit_get_452(self):
        with smtplib.SMTP("127.0.0.1", self.smtp_port) as smtp:
            refused = smtp.sendmail(
                "app@example.test",
                ["a@example.test", "b@example.test", "c@example.test"],
                b"Subject: News\r\n\r\nNews\r\n",
            )
        self.assertEqual(refused, {"c@example.test": (452, b"Requested action not taken: Exceed Recipient Limit")})

    def test_an_unknown_user_is_refused_at_rcpt(self):
        with smtplib.SMTP("127.0.0.1", self.smtp_port) as smtp:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as caught:
                smtp.sendmail("app@example.test", ["ghost@nouser.test"], b"Subject: x\r\n\r\nx\r\n")
        self.assertEqual(caught.exception.recipients, {"ghost@nouser.test": (550, b"5.1.1 User unknown")})


if __name__ == "__main__":
    unittest.main()
