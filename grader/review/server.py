"""The review app: a small HTTP server on 127.0.0.1 (standard library only, nothing to build), one page
and a JSON API over ``decisions.Review``.

Every API request carries the per-run token printed with the address; without it no data is served
(the page and its script, which hold none, are).  The
page runs only its own script (Content-Security-Policy) and shows student text with ``textContent``, so
an answer can hold no markup, link or script that reaches the browser.  The app reads and writes only
the results folder it was given.
"""
from __future__ import annotations

import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from .decisions import Review, ReviewError

STATIC = {"/": ("app.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/app.css": ("app.css", "text/css; charset=utf-8")}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# a student's notebook page: inline styles (pygments) and inlined images, never a script
EVIDENCE_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
MAX_BODY = 64 * 1024
# the page's own words; student text is never among them
LABELS = {
    "en": {"items": "Items", "pick": "Pick an item", "comments": "Rubric comments", "groups": "Answer groups",
           "add": "Add", "comment": "comment", "points": "points", "left": "left", "auto": "auto",
           "students": "students", "student": "student", "pending": "pending", "no_answer": "(no written answer)",
           "grading_as": "grading as", "graded": "graded", "answers_left": "answers left",
           "keys": "Keys: j/k next/previous group · 1–9 toggle a comment · Enter grade the group · n new comment",
           "notebook": "notebook", "edit": "edit", "save": "save", "remarked": "re-marked",
           "proposed": "proposed", "confirmed": "confirmed", "page": "page", "read_from": "read from",
           "not_found": "not found in the document: show a page with [ and ], assign it with a",
           "no_evidence": "these students handed in nothing readable for this question: Enter again marks them",
           "question": "Question", "guidance": "Guidance",
           "doc_keys": "c confirm the group's proposal · [ ] page · a assign the page to this question"},
    "fa": {"items": "پرسش‌ها", "pick": "یک پرسش را برگزینید", "comments": "نظرهای روبریک", "groups": "گروه‌های پاسخ",
           "add": "افزودن", "comment": "نظر", "points": "نمره", "left": "مانده", "auto": "خودکار",
           "students": "دانشجو", "student": "دانشجو", "pending": "در انتظار", "no_answer": "(پاسخ نوشتاری ندارد)",
           "grading_as": "تصحیح‌کننده:", "graded": "تصحیح شد:", "answers_left": "پاسخ مانده",
           "keys": "کلیدها: j/k گروه بعد/قبل · ۱ تا ۹ روشن و خاموش کردن نظر · Enter تصحیح گروه · n نظر تازه",
           "notebook": "نوت‌بوک", "edit": "ویرایش", "save": "ذخیره", "remarked": "دوباره نمره‌دهی شد:",
           "proposed": "پیشنهاد", "confirmed": "تأیید شد:", "page": "صفحه", "read_from": "خوانده از",
           "not_found": "در سند پیدا نشد: با [ و ] صفحه را ببینید و با a به این پرسش بدهید",
           "no_evidence": "این دانشجویان برای این پرسش چیز خوانایی نفرستاده‌اند: Enter دوباره نمره می‌دهد",
           "question": "پرسش", "guidance": "راهنما",
           "doc_keys": "c تأیید پیشنهاد گروه · [ ] صفحه · a دادن صفحه به این پرسش"},
}


class App:
    def __init__(self, results: Path, rubric_id: str | None, grader: str, language: str = "en"):
        Review(results, rubric_id).close()  # refuse a folder that is no batch's, before serving anything
        self.results, self.rubric_id, self.grader, self.language = results, rubric_id, grader, language
        self.token = secrets.token_urlsafe(18)

    def review(self) -> Review:
        return Review(self.results, self.rubric_id)  # one connection per request: SQLite is per thread

    def api(self, method: str, path: str, body: dict) -> object:
        review = self.review()
        try:
            if method == "GET" and path == "/api/items":
                return {"rubric": review.rubric_id, "grader": self.grader, "items": review.items(),
                        "labels": LABELS[self.language], "rtl": self.language == "fa", "language": self.language}
            if method == "GET" and path.startswith("/api/item/"):
                return review.item_view(unquote(path[len("/api/item/"):]))
            if method == "POST" and path == "/api/comment":
                return review.add_comment(str(body["item"]), str(body.get("text", "")), float(body["points"]),
                                          self.grader).__dict__
            if method == "POST" and path == "/api/comment/edit":
                return {"remarked": review.edit_comment(str(body["item"]), int(body["id"]), str(body.get("text", "")),
                                                        float(body["points"]), self.grader)}
            if method == "POST" and path == "/api/confirm":
                return {"marked": review.confirm(str(body["item"]), [str(k) for k in body["students"]], self.grader)}
            if method == "POST" and path == "/api/assign":
                return {"pages": review.assign_pages(str(body["item"]), str(body["student"]),
                                                     [int(p) for p in body["pages"]], self.grader)}
            if method == "POST" and path == "/api/mark":
                return {"marked": review.mark(str(body["item"]), [str(k) for k in body["students"]],
                                              [int(c) for c in body.get("comments", [])],
                                              float(body.get("adjustment", 0)), self.grader,
                                              str(body.get("reason", "")))}
            raise LookupError(path)
        finally:
            review.close()


def make_server(app: App, port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # the TA's terminal shows the address, not every request
            pass

        def _send(self, status: int, body: bytes, kind: str, policy: str = POLICY) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", policy)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, value: object) -> None:
            self._send(status, json.dumps(value, ensure_ascii=False).encode(), "application/json; charset=utf-8")

        def _authorised(self, url) -> bool:
            given = self.headers.get("X-Review-Token") or parse_qs(url.query).get("token", [""])[0]
            return hmac.compare_digest(given.encode(), app.token.encode())

        def _handle(self, method: str) -> None:
            url = urlparse(self.path)
            if method == "GET" and url.path in STATIC:  # the page and its script hold no data: the API does
                name, kind = STATIC[url.path]
                self._send(200, resources.files(__package__).joinpath("static", name).read_bytes(), kind)
                return
            if not self._authorised(url):
                self._json(403, {"error": "this page needs the address grade review printed (with its token)"})
                return
            if method == "GET" and url.path.startswith("/evidence/"):
                review = app.review()
                try:
                    path = review.evidence_file(unquote(url.path))
                    page = path.read_bytes()
                except LookupError:
                    self._json(404, {"error": "no such page"})
                    return
                finally:
                    review.close()
                if path.suffix == ".png":  # a student's page, rendered by the grader
                    self._send(200, page, "image/png")
                else:
                    self._send(200, page, "text/html; charset=utf-8", EVIDENCE_POLICY)
                return
            body = {}
            if method == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._json(413, {"error": "request too large"})
                    return
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": "the request is not JSON"})
                    return
            try:
                self._json(200, app.api(method, url.path, body))
            except LookupError as exc:
                self._json(404, {"error": f"not found: {exc}"})
            except (ReviewError, ValueError, TypeError) as exc:
                self._json(400, {"error": str(exc)})

        def do_GET(self):  # noqa: N802 - http.server's names
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def serve_in_thread(app: App, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """For tests and tools: the running server and its address with the token."""
    server = make_server(app, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/?token={app.token}"
