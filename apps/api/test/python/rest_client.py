"""A script as a security team would write it: Python's standard library against the REST API.

Reads NEOSC_URL (e.g. http://127.0.0.1:8080), NEOSC_TOKEN (an API token whose scope covers
auth.me, workspace.list, workspace.launch, session.disconnect and audit.list, owned by an admin)
and NEOSC_TOKEN_NAME. Signs in with the token, lists workspaces, launches one and disconnects the
session, reads the audit log, and checks that a procedure outside the scope answers 403 as
application/problem+json. Prints one JSON line per step; exits 1 on the first surprise.
"""

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime

BASE = os.environ["NEOSC_URL"].rstrip("/") + "/api"
TOKEN = os.environ["NEOSC_TOKEN"]
TOKEN_NAME = os.environ["NEOSC_TOKEN_NAME"]


def call(method, path, body=None, token=TOKEN):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), json.loads(error.read() or b"null")


def check(step, condition, detail):
    print(json.dumps({"step": step, "ok": bool(condition), "detail": detail}), flush=True)
    if not condition:
        sys.exit(1)


def iso(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


status, _, me = call("GET", "/auth/me")
check("me", status == 200 and me["method"] == "token", {"status": status, "email": me.get("user", {}).get("email")})

status, _, workspaces = call("GET", "/workspaces")
check("list workspaces", status == 200 and len(workspaces) > 0, {"status": status, "count": len(workspaces)})
workspace = workspaces[0]
iso(workspace["createdAt"])  # dates are plain ISO 8601 strings, not superjson

status, _, session = call("POST", "/workspaces/%s/launch" % workspace["id"])
check("launch", status == 200 and session["status"] == "active", {"status": status, "session": session.get("id")})
iso(session["startedAt"])

status, _, ended = call("POST", "/sessions/%s/disconnect" % session["id"], {"note": "python client"})
check("disconnect", status == 200 and ended["status"] == "ended", {"status": status, "endReason": ended.get("endReason")})

status, _, page = call("GET", "/audit-logs?action=api_token.use&limit=50")
mine = [e for e in page.get("items", []) if e["details"].get("token") == TOKEN_NAME]
procedures = sorted({e["details"]["procedure"] for e in mine})
check(
    "audit log names the token",
    status == 200 and {"workspace.launch", "session.disconnect", "workspace.list"} <= set(procedures),
    {"status": status, "procedures": procedures},
)
status, _, launches = call("GET", "/audit-logs?action=workspace.launch&limit=5")
check(
    "audit log has the launch",
    status == 200 and any(e["resource"]["id"] == workspace["id"] for e in launches["items"]),
    {"status": status},
)

status, content_type, problem = call("POST", "/workspaces", {"name": "Not allowed", "slug": "not-allowed"})
check(
    "403 outside the scope",
    status == 403 and content_type.startswith("application/problem+json") and problem["reason"] == "token_scope",
    {"status": status, "contentType": content_type, "reason": problem.get("reason")},
)

status, content_type, problem = call("GET", "/audit-logs?limit=many")
check(
    "400 names the field",
    status == 400 and "limit" in problem["fieldErrors"] and content_type.startswith("application/problem+json"),
    {"status": status, "fieldErrors": problem.get("fieldErrors")},
)

status, _, problem = call("GET", "/workspaces", token="neosc_00000000-0000-4000-8000-000000000000." + "A" * 43)
check("401 for a forged token", status == 401 and problem["reason"] == "invalid_token", {"status": status})
print(json.dumps({"done": True}))
